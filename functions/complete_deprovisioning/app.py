"""Lambda: Mark the tenant and its dataflows DEPROVISIONED."""

from stripe_aep.handler import step_handler

lambda_handler = step_handler("deprovision.complete_deprovisioning")
