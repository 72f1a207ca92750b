"""Lambda: Create the dataflow with its schedule (POST /flows)."""

from stripe_aep.handler import step_handler

lambda_handler = step_handler("provision.create_dataflow")
