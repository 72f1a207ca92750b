"""Rotating the Adobe client secret under a warm stack: the next operation reads the secret again and succeeds.

A warm Lambda keeps the credential it read at first use (Powertools Parameters cache, 300 s) and its IMS token.
After rotation, once the token is gone, IMS answers `invalid_client` to the old secret: the client reads the
secret again bypassing the cache and asks IMS once more (`ImsTokenProvider`, `reload_credential`).
"""

from __future__ import annotations

import json

import requests

from local.stack import LocalStack
from tests.integration.conftest import TenantFactory
from tests.integration.support import assert_provisioned, provision

NEW_SECRET = "rotated-local-client-secret-0002"


def _ims_answers(stack: LocalStack) -> list[int]:
    return [r.status for r in stack.simulator.requests if r.path.endswith("/ims/token/v3")]


def test_rotated_adobe_secret_under_a_warm_stack(stack: LocalStack, tenant_factory: TenantFactory) -> None:
    tenant_factory("acme", "sk_test_acme_rotation_000000001")
    tenant_factory("globex", "sk_test_globex_rotation_0000002")
    assert provision(stack, {"tenantId": "acme", "resourcePaths": ["charges"]}, "before")["status"] == "SUCCEEDED"
    assert _ims_answers(stack) and set(_ims_answers(stack)) == {200}
    old = dict(stack.adobe_credential)

    # Rotation as an operator does it: a new secret in the Developer Console (the old one stops working), the
    # new value in Secrets Manager; every token issued so far expires (as after 24 h).
    stack.simulator.register_client(old["client_id"], NEW_SECRET, old["ims_org"])
    stack.client("secretsmanager").put_secret_value(
        SecretId=stack.environment["ADOBE_CREDENTIAL_SECRET"],
        SecretString=json.dumps({**old, "client_secret": NEW_SECRET}),
    )
    stack.simulator.expire_tokens()
    refused = requests.post(
        f"{stack.environment['IMS_URL']}/ims/token/v3",
        data={"grant_type": "client_credentials", "client_id": old["client_id"], "client_secret": old["client_secret"]},
        timeout=10,
    )
    assert refused.status_code == 401 and refused.json()["error"] == "invalid_client"
    ims_before = len(_ims_answers(stack))

    result = provision(stack, {"tenantId": "globex", "resourcePaths": ["charges"]}, "after")

    assert result["status"] == "SUCCEEDED", result.get("cause")
    assert_provisioned(stack, {"acme": ["charges"], "globex": ["charges"]})
    after = _ims_answers(stack)[ims_before:]
    # Each warm function that needed a token met one refusal (its cached old secret), then succeeded.
    assert 401 in after and after[-1] == 200, after
    assert after.count(401) <= after.count(200), after
