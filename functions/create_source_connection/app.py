"""Lambda: Create the source connection of one resource path (POST /sourceConnections)."""

from stripe_aep.handler import step_handler

lambda_handler = step_handler("provision.create_source_connection")
