"""Shared library of the Stripe -> Adobe Experience Platform provisioner (the Lambda layer).

Modules: ``aep`` (Platform API client), ``resources`` (Stripe -> XDM tables), ``tenants`` (inputs, names),
``store`` (DynamoDB), ``runtime`` (per-process dependencies), ``handler`` (the Lambda wrapper), ``steps`` (logic).
"""
