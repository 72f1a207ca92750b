"""Lambda: Find or create the sandbox's XDM field group and schema for one resource path."""

from stripe_aep.handler import step_handler
from stripe_aep.steps import provision

lambda_handler = step_handler(provision.ensure_target_schema)
