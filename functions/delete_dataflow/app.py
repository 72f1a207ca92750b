"""Lambda: Delete one dataflow (DELETE /flows/{id}); a 404 counts as deleted."""

from stripe_aep.handler import step_handler

lambda_handler = step_handler("deprovision.delete_dataflow")
