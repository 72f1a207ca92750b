"""Lambda: Replace the base connection's Stripe key (PATCH /connections/{id}) and verify it by explore."""

from stripe_aep.handler import step_handler
from stripe_aep.steps import lifecycle

lambda_handler = step_handler(lifecycle.rotate_stripe_key)
