"""Lambda: Fold an upgrade --all page into the report and read the next page of tenants (DynamoDB gsi1)."""

from stripe_aep.handler import step_handler

lambda_handler = step_handler("upgrade_all.plan_upgrade_page")
