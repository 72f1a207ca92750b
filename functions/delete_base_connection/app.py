"""Lambda: Delete the tenant's base connection (DELETE /connections/{id})."""

from stripe_aep.handler import step_handler

lambda_handler = step_handler("deprovision.delete_base_connection")
