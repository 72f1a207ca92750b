"""Lambda: Create the data lake target connection (POST /targetConnections)."""

from stripe_aep.handler import step_handler

lambda_handler = step_handler("provision.create_target_connection")
