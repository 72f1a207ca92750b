"""Lambda: Start the state machine an SQS-delivered event asks for (tenant signup/deletion, key change)."""

from stripe_aep.handler import deferred_handler

lambda_handler = deferred_handler("stripe_aep.steps.trigger:start_handler")
