"""Lambda: Find or create the sandbox's XDM field group and schema for one resource path."""

from stripe_aep.handler import step_handler

lambda_handler = step_handler("provision.ensure_target_schema")
