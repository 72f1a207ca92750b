"""Lambda: Explore one Stripe resource path through the base connection (GET /connections/{id}/explore)."""

from stripe_aep.handler import step_handler

lambda_handler = step_handler("provision.explore_resource_path")
