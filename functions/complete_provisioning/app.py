"""Lambda: Mark the tenant and its dataflows ACTIVE."""

from stripe_aep.handler import step_handler

lambda_handler = step_handler("provision.complete_provisioning")
