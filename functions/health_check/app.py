"""Lambda: Classify the health of every ACTIVE dataflow (or one tenant's) and alert on changes."""

from stripe_aep.steps.health import health_handler

lambda_handler = health_handler()
