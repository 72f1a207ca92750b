"""The time the provisioner stores and compares: epoch seconds (UTC).

Its own module so that the store (and the Lambda wrapper, at cold start) need not import the input models of
``stripe_aep.tenants`` (pydantic) for it.
"""

from __future__ import annotations

import time


def now_s() -> int:
    """Current time in epoch seconds (UTC)."""
    return int(time.time())
