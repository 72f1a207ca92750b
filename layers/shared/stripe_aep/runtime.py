"""Per-process dependencies of the Lambda functions: configuration, secrets, the Platform client and the store.

``Settings`` is read from the environment once, at cold start (one pydantic model; a missing variable fails the
import, not the first request). ``Runtime`` is built lazily and cached per settings, so a warm Lambda reuses its
HTTP connections, its IMS access token and its cached secrets.

Secrets are read with Powertools Parameters (``get_secret`` with a ``max_age`` cache) and never leave this module
except as ``SecretStr`` handed to the Platform client.
"""

from __future__ import annotations

import json
import os
import secrets
import threading
from collections.abc import Mapping
from functools import cache

from aws_lambda_powertools.utilities import parameters
from pydantic import BaseModel, ConfigDict, SecretStr

from stripe_aep.aep import ImsCredential, PlatformClient, PlatformSettings
from stripe_aep.errors import TenantNotFoundError
from stripe_aep.metrics import record_adobe_call
from stripe_aep.store import Store
from stripe_aep.tenants import Frequency, tenant_secret_name


class Settings(BaseModel):
    """Environment of every function (template.yaml Globals; names are the lowercased variables).

    ``secret_max_age_s``: seconds a secret stays cached in a warm Lambda (Powertools Parameters ``max_age``).
    """

    model_config = ConfigDict(extra="ignore", frozen=True)

    table_name: str
    adobe_credential_secret: str
    tenant_secret_prefix: str = "stripe-aep/tenants/"  # noqa: S105 (a name prefix, not a secret)
    platform_url: str = "https://platform.adobe.io"
    ims_url: str = "https://ims-na1.adobelogin.com"
    default_sandbox: str = "prod"
    default_schedule_frequency: Frequency = "hour"
    default_schedule_interval: int = 1
    secret_max_age_s: int = 300

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read the settings from ``env`` (default ``os.environ``); raises ``pydantic.ValidationError``."""
        source = os.environ if env is None else env
        return cls.model_validate({key.lower(): value for key, value in source.items()})


class Runtime:
    """What a step needs: the store, Platform clients per sandbox, and the secrets behind them."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.store = Store(settings.table_name)
        self._clients: dict[str, PlatformClient] = {}
        self._lock = threading.Lock()

    def platform(self, sandbox: str) -> PlatformClient:
        """The Platform API client for ``sandbox`` (one per sandbox per process; its IMS token is shared)."""
        with self._lock:
            client = self._clients.get(sandbox)
            if client is None:
                client = PlatformClient(
                    PlatformSettings(
                        platform_url=self.settings.platform_url,
                        ims_url=self.settings.ims_url,
                        sandbox=sandbox,
                    ),
                    self.adobe_credential(),
                    observer=record_adobe_call,
                )
                self._clients[sandbox] = client
            return client

    def adobe_credential(self) -> ImsCredential:
        """The deployment's Adobe OAuth Server-to-Server credential from Secrets Manager.

        The secret is JSON: ``{"client_id", "client_secret", "ims_org", "scopes"}`` (scopes: a list or a
        comma-separated string).
        """
        raw = parameters.get_secret(
            self.settings.adobe_credential_secret, transform="json", max_age=self.settings.secret_max_age_s
        )
        data = dict(raw) if isinstance(raw, dict) else {}
        scopes = data.get("scopes", [])
        if isinstance(scopes, str):
            data["scopes"] = [s.strip() for s in scopes.split(",") if s.strip()]
        return ImsCredential.model_validate(data)

    def stripe_key(self, tenant_id: str, fresh: bool = False) -> SecretStr:
        """The tenant's Stripe secret key, from the secret ``{TENANT_SECRET_PREFIX}{tenant_id}``.

        The secret holds the key itself, or JSON ``{"stripe_secret_key": "..."}``. ``fresh`` bypasses the cache
        (key rotation). Raises ``TenantNotFoundError`` when the secret does not exist or holds no key.
        """
        name = tenant_secret_name(self.settings.tenant_secret_prefix, tenant_id)
        try:
            value = parameters.get_secret(name, max_age=self.settings.secret_max_age_s, force_fetch=fresh)
        except parameters.exceptions.GetParameterError:
            raise TenantNotFoundError(f"no Stripe key secret for tenant {tenant_id} at {name}") from None
        text = value.decode() if isinstance(value, bytes) else str(value)
        if text.lstrip().startswith("{"):
            text = str(json.loads(text).get("stripe_secret_key", ""))
        if not text:
            raise TenantNotFoundError(f"the secret {name} holds no Stripe key")
        return SecretStr(text)

    def stripe_key_is(self, tenant_id: str, key: SecretStr) -> bool:
        """Whether the tenant's secret still holds ``key`` (read fresh; compared in constant time)."""
        current = self.stripe_key(tenant_id, fresh=True)
        return secrets.compare_digest(current.get_secret_value().encode(), key.get_secret_value().encode())


@cache
def runtime_for(settings: Settings) -> Runtime:
    """The process-wide ``Runtime`` of ``settings`` (built on first use, then reused while warm)."""
    return Runtime(settings)
