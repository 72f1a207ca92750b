"""Lambda: Validate a lifecycle input (update_schedule, rotate_key, enable, disable)."""

from stripe_aep.handler import step_handler

lambda_handler = step_handler("lifecycle.validate_lifecycle_input")
