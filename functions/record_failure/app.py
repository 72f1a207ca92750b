"""Lambda: Record a failed execution in DynamoDB and give its Fail state an actionable cause."""

from stripe_aep.handler import step_handler
from stripe_aep.steps import provision

lambda_handler = step_handler(provision.record_failure)
