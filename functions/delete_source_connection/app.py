"""Lambda: Delete one source connection (DELETE /sourceConnections/{id})."""

from stripe_aep.handler import step_handler

lambda_handler = step_handler("deprovision.delete_source_connection")
