"""Lambda: Replace the base connection's Stripe key (PATCH /connections/{id}) and verify it by explore."""

from stripe_aep.handler import step_handler

lambda_handler = step_handler("lifecycle.rotate_stripe_key")
