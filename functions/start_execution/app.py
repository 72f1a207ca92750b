"""Lambda: Start the state machine an SQS-delivered event asks for (tenant signup/deletion, key change)."""

from stripe_aep.steps.trigger import start_handler

lambda_handler = start_handler()
