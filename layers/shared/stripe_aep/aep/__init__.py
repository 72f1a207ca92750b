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

#: Where each public name lives (the submodule of this package).
_SUBMODULE = {
    **dict.fromkeys(("DEFAULT_SCOPES", "ImsCredential", "ImsTokenProvider", "clear_token_cache"), "auth"),
    **dict.fromkeys(("PlatformClient", "PlatformSettings"), "client"),
    **dict.fromkeys(
        (
            "AepConnectionError",
            "AepError",
            "AepValidationError",
            "AuthenticationError",
            "ConflictError",
            "NotFoundError",
            "PreconditionFailedError",
            "ThrottledError",
            "UnexpectedResponseError",
            "UpstreamError",
        ),
        "errors",
    ),
    **dict.fromkeys(
        (
            "Connection",
            "Created",
            "Dataset",
            "ExploreResult",
            "Flow",
            "FlowRun",
            "MappingPreview",
            "MappingSet",
            "PatchOperation",
            "Schedule",
            "TransformErrorInfo",
            "XdmResource",
        ),
        "models",
    ),
}


def __getattr__(name: str) -> Any:
    module = _SUBMODULE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


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
