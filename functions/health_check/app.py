"""Lambda: Classify the health of every ACTIVE dataflow (or one tenant's) and alert on changes."""

from stripe_aep.steps.health import lambda_handler

__all__ = ["lambda_handler"]
