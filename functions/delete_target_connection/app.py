"""Lambda: Delete one target connection (DELETE /targetConnections/{id})."""

from stripe_aep.handler import step_handler

lambda_handler = step_handler("deprovision.delete_target_connection")
