"""No secret (IMS client secret, access token, Stripe key) in logs, exception text or reprs on error paths."""

from __future__ import annotations

import logging
import pickle
from typing import Any

import pytest
from pydantic import SecretStr

from local.aep_simulator import Fault
from stripe_aep.aep import AepError, ImsCredential, PatchOperation, PlatformClient
from tests.conftest import FAKE_CLIENT_SECRET, FAKE_STRIPE_KEY, fast_settings


def _exercise(client: PlatformClient, simulator: Any) -> list[AepError]:
    errors: list[AepError] = []

    def run(fn: Any) -> None:
        try:
            fn()
        except AepError as exc:
            errors.append(exc)

    run(lambda: client.create_base_connection("stripe-aep/acme/base", SecretStr(FAKE_STRIPE_KEY)))
    for kind in ("token_expired", "error500", "reset", "throttle"):
        simulator.add_fault(Fault(operation="createConnection", kind=kind, times=None, retry_after=0))
        run(lambda: client.create_base_connection("stripe-aep/acme/base2", SecretStr(FAKE_STRIPE_KEY)))
        simulator.clear_faults()
    run(lambda: client.create_base_connection("stripe-aep/acme/base", SecretStr(FAKE_STRIPE_KEY)))  # 4xx?
    base = client.find_base_connection("stripe-aep/acme/base")
    if base is not None and base.etag:
        run(
            lambda: client.patch_base_connection(
                base.id,
                '"stale"',
                [PatchOperation(op="replace", path="/auth/params", value={"accessToken": FAKE_STRIPE_KEY})],
            )
        )
    simulator.revoke_stripe_key(FAKE_STRIPE_KEY)
    if base is not None:
        run(lambda: client.explore(base.id, "charges", preview=False))
    run(lambda: client.get_flow("missing"))
    return errors


def test_no_secret_in_logs_errors_or_reprs(
    simulator: Any, credential: ImsCredential, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # root: stripe_aep and urllib3 included
    logging.getLogger("urllib3").setLevel(logging.DEBUG)
    client = PlatformClient(fast_settings(simulator.url), credential)
    errors = _exercise(client, simulator)
    assert len(errors) >= 5, errors  # the error paths really ran
    token = client.tokens.cached_token()
    assert token, "an access token was issued"

    bad = ImsCredential(
        client_id="stripe-aep-test-client",
        client_secret=SecretStr("wrong-" + FAKE_CLIENT_SECRET),
        ims_org="O@AdobeOrg",
    )
    try:
        PlatformClient(fast_settings(simulator.url), bad).get_tenant_id()
    except AepError as exc:
        errors.append(exc)

    texts = [caplog.text, repr(client), repr(credential), str(credential), repr(credential.model_dump())]
    texts += [str(e) for e in errors] + [repr(e) for e in errors] + [repr(e.__dict__) for e in errors]
    texts += [repr(pickle.loads(pickle.dumps(e))) for e in errors]  # noqa: S301 (own objects)
    texts += [repr(PatchOperation(op="replace", path="/auth/params", value={"accessToken": FAKE_STRIPE_KEY}))]
    blob = "\n".join(texts)
    for secret in (FAKE_CLIENT_SECRET, FAKE_STRIPE_KEY, token):
        assert secret not in blob
    assert "DEBUG" in caplog.text or caplog.records  # logging was captured at DEBUG
