"""Lambda: Validate a deprovision input and list the tenant's resource paths."""

from stripe_aep.handler import step_handler

lambda_handler = step_handler("deprovision.plan_deprovisioning")
