"""Lambda: Validate and create the Data Prep mapping set (POST /mappingSets)."""

from stripe_aep.handler import step_handler

lambda_handler = step_handler("provision.create_mapping_set")
