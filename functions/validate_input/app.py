"""Lambda: Validate a provision input and record the tenant as PROVISIONING (no Adobe call)."""

from stripe_aep.handler import step_handler
from stripe_aep.steps import provision

lambda_handler = step_handler(provision.validate_input)
