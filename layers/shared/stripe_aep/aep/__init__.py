"""Adobe Experience Platform API client: IMS auth, HTTP with retries, errors, models and
``PlatformClient``."""

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
