"""Lambda: Patch one dataflow's schedule or name (PATCH /flows/{id} with If-Match)."""

from stripe_aep.handler import step_handler

lambda_handler = step_handler("lifecycle.update_dataflow")
