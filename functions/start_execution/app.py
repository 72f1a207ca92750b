"""Lambda: Start the state machine an SQS-delivered event asks for (tenant signup/deletion, key change)."""

from stripe_aep.steps.trigger import lambda_handler

__all__ = ["lambda_handler"]
