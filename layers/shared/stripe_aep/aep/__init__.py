"""Adobe Experience Platform API client: IMS auth, HTTP with retries, errors, models and
``PlatformClient``.

The names load on first use (PEP 562 ``__getattr__``): ``from stripe_aep.aep import AepError`` imports only
``aep.errors``, so a handler that never builds a client does not pay for requests and the wire models at import.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .auth import DEFAULT_SCOPES, ImsCredential, ImsTokenProvider, clear_token_cache
    from .client import PlatformClient, PlatformSettings
    from .errors import (
        AepConnectionError,
        AepError,
        AepValidationError,
        AuthenticationError,
        ConflictError,
        NotFoundError,
        PreconditionFailedError,
        ThrottledError,
        UnexpectedResponseError,
        UpstreamError,
    )
    from .models import (
        Connection,
        Created,
        Dataset,
        ExploreResult,
        Flow,
        FlowRun,
        MappingPreview,
        MappingSet,
        PatchOperation,
        Schedule,
        TransformErrorInfo,
        XdmResource,
    )

#: The submodules, cheapest first: a name is looked up in each in turn, so an error class loads only ``errors``.
_SUBMODULES = ("errors", "models", "auth", "client")


def __getattr__(name: str) -> Any:
    if name in __all__:
        for submodule in _SUBMODULES:
            module = importlib.import_module(f"{__name__}.{submodule}")
            if hasattr(module, name):
                globals()[name] = value = getattr(module, name)
                return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "DEFAULT_SCOPES",
    "AepConnectionError",
    "AepError",
    "AepValidationError",
    "AuthenticationError",
    "ConflictError",
    "Connection",
    "Created",
    "Dataset",
    "ExploreResult",
    "Flow",
    "FlowRun",
    "ImsCredential",
    "ImsTokenProvider",
    "MappingPreview",
    "MappingSet",
    "NotFoundError",
    "PatchOperation",
    "PlatformClient",
    "PlatformSettings",
    "PreconditionFailedError",
    "Schedule",
    "ThrottledError",
    "TransformErrorInfo",
    "UnexpectedResponseError",
    "UpstreamError",
    "XdmResource",
    "clear_token_cache",
]
