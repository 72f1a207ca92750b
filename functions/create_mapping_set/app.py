"""Lambda: Validate and create the Data Prep mapping set (POST /mappingSets)."""

from stripe_aep.handler import step_handler
from stripe_aep.steps import provision

lambda_handler = step_handler(provision.create_mapping_set)
