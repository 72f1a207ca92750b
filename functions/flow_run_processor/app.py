"""Lambda (SQS): a verified flow run notification -> the dataflow's health in DynamoDB, alert on transition."""

from stripe_aep.handler import deferred_handler

lambda_handler = deferred_handler("stripe_aep.push.handlers:flow_run_processor")
