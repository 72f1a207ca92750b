"""Per-process dependencies of the Lambda functions: configuration, secrets, the Platform client and the store.

``Settings`` is one pydantic model of the environment: the Lambda wrapper (``stripe_aep.handler``) reads the
environment at cold start and validates it on the first event, so a missing variable fails that event (and every
later one) with a ``ValidationError`` that names it; the values are never shown (``hide_input_in_errors``: the
environment also holds the function's AWS credentials). ``Runtime`` is built lazily and cached per settings, so a
warm Lambda reuses its HTTP connections, its IMS access token and its cached secrets.

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
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from stripe_aep.errors import TenantSecretNotFoundError
from stripe_aep.metrics import record_adobe_call
from stripe_aep.store import Store
from stripe_aep.tenants import Frequency, tenant_secret_name

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.parameters import SecretsProvider

    from stripe_aep.aep import ImsCredential, PlatformClient
    from stripe_aep.budget import AdobeBudget


class Settings(BaseModel):
    """Environment of every function (template.yaml Globals; names are the lowercased variables).

    ``secret_max_age_s``: seconds a secret stays cached in a warm Lambda (Powertools Parameters ``max_age``).
    ``adobe_rate_limit_rps``: the deployment's Adobe rate budget (calls per second over every Lambda; template
    parameter ``AdobeRateLimitRps``; 0 = none); ``adobe_budget_max_wait_s``: longest a call waits in the Lambda
    for its slot before the step is refused with ``BudgetExhaustedError`` (``stripe_aep.budget``).
    """

    model_config = ConfigDict(extra="ignore", frozen=True, hide_input_in_errors=True)

    table_name: str
    adobe_credential_secret: str
    tenant_secret_prefix: str = "stripe-aep/tenants/"  # noqa: S105 (a name prefix, not a secret)
    platform_url: str = "https://platform.adobe.io"
    ims_url: str = "https://ims-na1.adobelogin.com"
    default_sandbox: str = "prod"
    default_schedule_frequency: Frequency = "hour"
    default_schedule_interval: int = 1
    secret_max_age_s: int = 300
    #: Adobe read timeout and the settle window of an uncertain create (seconds; ``PlatformSettings``).
    adobe_read_timeout_s: float = 30.0
    adobe_create_settle_s: float = 10.0
    adobe_rate_limit_rps: float = Field(default=0.0, ge=0)
    adobe_budget_max_wait_s: float = Field(default=3.0, gt=0)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read the settings from ``env`` (default ``os.environ``); raises ``pydantic.ValidationError``."""
        source = os.environ if env is None else env
        return cls.model_validate({key.lower(): value for key, value in source.items()})


class Runtime:
    """What a step needs: the store, Platform clients per sandbox, and the secrets behind them.

    ``Runtime(settings)`` is a Lambda's: the table ``settings.table_name`` through boto3's default session and
    secrets through Powertools' default Secrets Manager provider (both configured by the environment).
    ``store`` and ``secrets_provider`` replace them, so that a step can run on explicitly built dependencies
    (a ``Store`` over a given boto3 ``Table``, a ``SecretsProvider`` over a given Secrets Manager client: the
    unit tests' moto) without touching the environment. Platform clients go to ``settings.platform_url`` /
    ``settings.ims_url``.
    """

    def __init__(
        self, settings: Settings, store: Store | None = None, secrets_provider: SecretsProvider | None = None
    ) -> None:
        self.settings = settings
        self.store = store if store is not None else Store(settings.table_name)
        self._secrets = secrets_provider
        self._clients: dict[str, PlatformClient] = {}
        self._lock = threading.Lock()
        self.budget: AdobeBudget | None = None
        if settings.adobe_rate_limit_rps > 0:
            from stripe_aep.budget import AdobeBudget

            self.budget = AdobeBudget(
                self.store.table, settings.adobe_rate_limit_rps, max_wait_s=settings.adobe_budget_max_wait_s
            )

    def platform(self, sandbox: str) -> PlatformClient:
        """The Platform API client for ``sandbox`` (one per sandbox per process; its IMS token is shared)."""
        with self._lock:
            client = self._clients.get(sandbox)
            if client is None:
                from stripe_aep.aep import PlatformClient, PlatformSettings  # requests: loaded where a client is built

                client = PlatformClient(
                    PlatformSettings(
                        platform_url=self.settings.platform_url,
                        ims_url=self.settings.ims_url,
                        sandbox=sandbox,
                        read_timeout_s=self.settings.adobe_read_timeout_s,
                        create_settle_s=self.settings.adobe_create_settle_s,
                    ),
                    self.adobe_credential(),
                    observer=record_adobe_call,
                    reload_credential=lambda: self.adobe_credential(fresh=True),
                    budget=self.budget,
                )
                self._clients[sandbox] = client
            return client

    def adobe_credential(self, fresh: bool = False) -> ImsCredential:
        """The deployment's Adobe OAuth Server-to-Server credential from Secrets Manager.

        The secret is JSON: ``{"client_id", "client_secret", "ims_org", "scopes"}`` (scopes: a list or a
        comma-separated string). ``fresh`` bypasses the cache (IMS answered ``invalid_client``: rotated).
        """
        from stripe_aep.aep import ImsCredential

        raw = self._get_secret(self.settings.adobe_credential_secret, transform="json", fresh=fresh)
        data = dict(raw) if isinstance(raw, dict) else {}
        scopes = data.get("scopes", [])
        if isinstance(scopes, str):
            data["scopes"] = [s.strip() for s in scopes.split(",") if s.strip()]
        return ImsCredential.model_validate(data)

    def stripe_key(self, tenant_id: str, fresh: bool = False) -> SecretStr:
        """The tenant's Stripe secret key, from the secret ``{TENANT_SECRET_PREFIX}{tenant_id}``.

        The secret holds the key itself, or JSON ``{"stripe_secret_key": "..."}``. ``fresh`` bypasses the cache
        (key rotation). Raises ``TenantSecretNotFoundError`` when the secret does not exist or holds no key.
        """
        from aws_lambda_powertools.utilities import parameters

        name = tenant_secret_name(self.settings.tenant_secret_prefix, tenant_id)
        try:
            value = self._get_secret(name, fresh=fresh)
        except parameters.exceptions.GetParameterError:
            raise TenantSecretNotFoundError(f"no Stripe key secret for tenant {tenant_id} at {name}") from None
        text = value.decode() if isinstance(value, bytes) else str(value)
        if text.lstrip().startswith("{"):
            text = str(json.loads(text).get("stripe_secret_key", ""))
        if not text:
            raise TenantSecretNotFoundError(f"the secret {name} holds no Stripe key")
        return SecretStr(text)

    def _get_secret(self, name: str, transform: Literal["json"] | None = None, fresh: bool = False) -> Any:
        """The secret's value through ``secrets_provider`` or Powertools' default provider, cached ``secret_max_age_s``;
        raises ``parameters.exceptions.GetParameterError`` (missing secret included)."""
        max_age = self.settings.secret_max_age_s
        if self._secrets is not None:
            return self._secrets.get(name, max_age=max_age, transform=transform, force_fetch=fresh)
        from aws_lambda_powertools.utilities import parameters

        return parameters.get_secret(name, transform=transform, max_age=max_age, force_fetch=fresh)

    def stripe_key_is(self, tenant_id: str, key: SecretStr) -> bool:
        """Whether the tenant's secret still holds ``key`` (read fresh; compared in constant time)."""
        current = self.stripe_key(tenant_id, fresh=True)
        return secrets.compare_digest(current.get_secret_value().encode(), key.get_secret_value().encode())


@cache
def runtime_for(settings: Settings) -> Runtime:
    """The process-wide ``Runtime`` of ``settings`` (built on first use, then reused while warm)."""
    return Runtime(settings)
