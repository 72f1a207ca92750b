"""Lambda: Upgrade one dataflow to the current table version or a new field selection (PATCH field group,
PUT mapping set, PATCH /flows/{id} with If-Match)."""

from stripe_aep.handler import step_handler

lambda_handler = step_handler("upgrade.upgrade_dataflow")
