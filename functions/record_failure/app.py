"""Lambda: Record a failed execution in DynamoDB and give its Fail state an actionable cause."""

from stripe_aep.handler import step_handler

lambda_handler = step_handler("provision.record_failure")
