"""Lambda: Enable or disable one dataflow (POST /flows/{id}/action)."""

from stripe_aep.handler import step_handler

lambda_handler = step_handler("lifecycle.set_dataflow_state")
