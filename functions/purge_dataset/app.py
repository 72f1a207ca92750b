"""Lambda: Delete one dataset (Catalog DELETE /dataSets/{id}) when the input asks to purge."""

from stripe_aep.handler import step_handler

lambda_handler = step_handler("deprovision.purge_dataset")
