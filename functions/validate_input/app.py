"""Lambda: Validate a provision input and record the tenant as PROVISIONING (no Adobe call)."""

from stripe_aep.handler import step_handler

lambda_handler = step_handler("provision.validate_input")
