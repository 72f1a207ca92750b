"""Injected faults and the throughput cap of the AEP simulator.

A `Fault` matches calls by operation name ("*" = every Platform and IMS call). Counting starts when the
fault is
added: with `nth=N` it fires from the Nth matching call on; `times` bounds how often it fires (None =
unlimited);
`rate` makes each eligible call fire with that probability, drawn from the simulator's seeded `random.Random`.

Kinds and what the caller sees:
- "throttle": 429 with `Retry-After` (`retry_after` seconds, default 1); "throttle_no_retry_after": 429
  without it.
- "error500" / "error502" / "error503": that status with a gateway-style JSON body; "error400" likewise (a
  refusal the caller does not retry).
- "reset": the socket is closed before the request is handled (nothing changes).
- "reset_after_commit": the request is handled (state changes) and the socket is closed without an answer.
- "commit_late": the socket is closed without an answer (after `latency_s`: set it above the client's read
  timeout to play a timeout) and the request is handled `commit_delay_s` later, from another thread: Adobe
  committing a POST after the client gave up.
- "token_expired": 401 with the gateway body `{"error_code":"401013",...}`.
- "latency": sleep `latency_s` before handling. Any kind sleeps `latency_s` first when it is set.
"""

from __future__ import annotations

import math
import random
import threading
import time
from dataclasses import dataclass, field

FAULT_KINDS: frozenset[str] = frozenset(
    {
        "throttle",
        "throttle_no_retry_after",
        "error400",
        "error500",
        "error502",
        "error503",
        "reset",
        "reset_after_commit",
        "commit_late",
        "token_expired",
        "latency",
    }
)


@dataclass(eq=False)
class Fault:
    """One injected fault; see the module docstring. Raises ValueError for an unknown kind or bad numbers."""

    operation: str = "*"
    kind: str = ""
    nth: int | None = None
    times: int | None = 1
    rate: float | None = None
    retry_after: int | None = None
    latency_s: float = 0.0
    commit_delay_s: float = 0.0
    seen: int = field(default=0, init=False)  # matching calls since the fault was added
    fired: int = field(default=0, init=False)  # how many times it fired

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; expected one of {sorted(FAULT_KINDS)}")
        if self.nth is not None and self.nth < 1:
            raise ValueError("nth is 1-based")
        if self.rate is not None and not 0.0 <= self.rate <= 1.0:
            raise ValueError("rate is a probability in [0, 1]")

    def matches(self, operation: str) -> bool:
        return self.operation in ("*", operation)


class FaultSet:
    """The simulator's faults, consulted once per call (thread-safe)."""

    def __init__(self, rng: random.Random) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self._rng = rng

    def add(self, fault: Fault) -> Fault:
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def firing(self, operation: str) -> list[Fault]:
        """The faults that fire for this call, in the order they were added (counters updated)."""
        fired: list[Fault] = []
        with self._lock:
            for fault in self._faults:
                if not fault.matches(operation):
                    continue
                fault.seen += 1
                if fault.nth is not None and fault.seen < fault.nth:
                    continue
                if fault.times is not None and fault.fired >= fault.times:
                    continue
                if fault.rate is not None and self._rng.random() >= fault.rate:
                    continue
                fault.fired += 1
                fired.append(fault)
        return fired


class TokenBucket:
    """A token bucket of `rate` tokens per second holding at most max(1, rate) tokens (thread-safe)."""

    def __init__(self, rate: float) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        self.capacity = max(1.0, rate)
        self._tokens = self.capacity
        self._stamp = time.monotonic()
        self._lock = threading.Lock()

    def take(self) -> int | None:
        """Take one token: None when granted, else the whole seconds (>= 1) until one is available."""
        with self._lock:
            now = time.monotonic()
            self._tokens = min(self.capacity, self._tokens + (now - self._stamp) * self.rate)
            self._stamp = now
            if self._tokens >= 1.0:
                self._tokens -= 1.0
                return None
            return max(1, math.ceil((1.0 - self._tokens) / self.rate))
