"""Lambda: Create the dataflow with its schedule (POST /flows)."""

from stripe_aep.handler import step_handler
from stripe_aep.steps import provision

lambda_handler = step_handler(provision.create_dataflow)
