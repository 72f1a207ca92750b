"""Lambda: Create the tenant's Stripe base connection (Flow Service POST /connections)."""

from stripe_aep.handler import step_handler

lambda_handler = step_handler("provision.create_base_connection")
