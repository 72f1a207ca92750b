"""Lambda: Classify the health of every ACTIVE dataflow (or one tenant's) and alert on changes."""

from stripe_aep.handler import deferred_handler

lambda_handler = deferred_handler("stripe_aep.steps.health:health_handler")
