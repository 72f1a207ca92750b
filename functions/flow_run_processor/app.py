"""Lambda (SQS): a verified flow run notification -> the dataflow's health in DynamoDB, alert on transition."""

import os

from stripe_aep.push.handlers import flow_run_processor

lambda_handler = flow_run_processor(os.environ)
