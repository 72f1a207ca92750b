"""Lambda: Create the source connection of one resource path (POST /sourceConnections)."""

from stripe_aep.handler import step_handler
from stripe_aep.steps import provision

lambda_handler = step_handler(provision.create_source_connection)
