"""Lambda: Create the tenant's dataset for one resource path (Catalog POST /dataSets)."""

from stripe_aep.handler import step_handler

lambda_handler = step_handler("provision.create_dataset")
