"""The deployment's one Adobe rate budget: every Lambda's Platform calls share one limit (calls per second).

Pattern: GCRA (the generic cell rate algorithm: a token bucket expressed as one timestamp) over one DynamoDB item,
``pk = "BUDGET#adobe", sk = "GCRA"``, holding ``next_at`` (epoch seconds, float: the earliest time the next call may
be sent), ``rate`` (calls per second now allowed) and ``throttled_at`` (epoch seconds of the last 429).
A call reserves its send time with one atomic conditional ``ADD next_at :interval`` (no read-modify-write loop, so
concurrent Lambdas do not retry each other's writes): granted when ``next_at`` is at most ``max_wait_s`` ahead (the
caller sleeps until its slot: a few seconds), refused otherwise with ``BudgetExhaustedError`` (``retry_after`` in
seconds) that the state machine retries with jitter (a Step Functions Retry waits for free; a Lambda does not sleep).
Idle time banks at most ``burst_s`` seconds of calls.

Why not a semaphore: Adobe limits a rate, not concurrency, and a crashed Lambda leaks a semaphore's slot (a rate
reservation simply expires). Why not the Map's MaxConcurrency or SQS MaximumConcurrency: they bound one execution,
or starts, not the deployment's calls.

Priority (admission at a step's start): a step is refused only before it spends its first call. Its later calls
(``begin_step`` counts them per Lambda invocation), and the calls the whole sandbox waits on (the shared XDM
objects and the first validation of a mapping body: ``with priority():``), may reserve up to
``priority_max_wait_s`` ahead, so they are granted at the end of the queue (the caller sleeps a few seconds) rather
than refused: a refused second call would repeat the first on the retry, and a refused shared create would hold
every other tenant of the sandbox in its lease wait for the retry's jitter.

Adaptation (AIMD): a 429 pushes ``next_at`` to ``now + Retry-After`` unless it is further ahead already (no Lambda
sends before Adobe said) and cuts ``rate`` to ``decrease`` x the rate now (not below ``cap / 8``; once per episode of
at least ``EPISODE_S``, whether or not the cursor moved); the rate then grows back linearly, by half the cap every
``recovery_s`` seconds.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import threading
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

from botocore.exceptions import ClientError

from stripe_aep.aep.errors import ThrottledError

__all__ = ["BUDGET_KEY", "AdobeBudget", "BudgetExhaustedError", "begin_step", "priority"]

logger = logging.getLogger(__name__)

#: The budget's item in the provisioner's table.
BUDGET_KEY = {"pk": "BUDGET#adobe", "sk": "GCRA"}
_MS = Decimal("0.001")


class BudgetExhaustedError(ThrottledError):
    """The deployment's Adobe rate budget has no call to give within ``max_wait_s``: nothing was sent.

    ``retry_after``: seconds until a reservation could be granted. A refusal, never an uncertainty: a create
    refused here certainly did not happen. The Step Functions ``Error`` the state machines retry with jitter.
    """


#: Calls granted so far in this step (one Lambda invocation; ``None`` outside a step: the health check...).
_STEP_CALLS: contextvars.ContextVar[int | None] = contextvars.ContextVar("adobe_step_calls", default=None)
#: Whether the calls made now are ones the sandbox waits on (``priority``).
_PRIORITY: contextvars.ContextVar[bool] = contextvars.ContextVar("adobe_priority", default=False)


def begin_step() -> None:
    """Start counting this step's calls (``stripe_aep.handler`` calls it at the start of every invocation):
    from its second call on, the step is not refused but queued (see the module docstring)."""
    _STEP_CALLS.set(0)


@contextlib.contextmanager
def priority(on: bool = True) -> Iterator[None]:
    """Within the block (when ``on``), calls are queued up to ``priority_max_wait_s`` rather than refused: for
    the objects every tenant of a sandbox waits on (shared XDM objects, a mapping body's first validation)."""
    token = _PRIORITY.set(_PRIORITY.get() or on)
    try:
        yield
    finally:
        _PRIORITY.reset(token)


def _dec(value: float) -> Decimal:
    return Decimal(str(value)).quantize(_MS)


def _failed(exc: ClientError) -> bool:
    return exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


class AdobeBudget:
    """A shared limit of ``cap_rps`` Adobe calls per second, kept in ``table`` (a boto3 DynamoDB Table).

    ``max_wait_s``: longest a caller sleeps for its slot before ``acquire`` refuses (seconds);
    ``priority_max_wait_s`` (default 2 x ``max_wait_s``): the same for a step's later calls and ``priority``
    calls; ``burst_s``: how many seconds of calls idle time may bank; ``decrease``: the factor a 429 applies to
    the rate; ``recovery_s``: seconds for the rate to grow by half the cap after a 429. ``clock``/``sleep`` are
    seconds (``time.time``, ``time.sleep``). Thread-safe.
    """

    def __init__(
        self,
        table: Any,
        cap_rps: float,
        *,
        max_wait_s: float = 1.0,
        priority_max_wait_s: float | None = None,
        burst_s: float = 0.1,
        decrease: float = 0.75,
        recovery_s: float = 10.0,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if cap_rps <= 0:
            raise ValueError("cap_rps must be positive")
        self.cap_rps = float(cap_rps)
        self.max_wait_s = max_wait_s
        self.priority_max_wait_s = max(
            max_wait_s, 2 * max_wait_s if priority_max_wait_s is None else priority_max_wait_s
        )
        self.burst_s = burst_s
        self.recovery_s = recovery_s
        self.decrease = decrease
        self._table = table
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._rate = self.cap_rps  # the last rate the item gave, and when its last 429 was
        self._throttled_at = 0.0

    #: Shortest time between two rate cuts (seconds): the 429s of one bunch of calls are one episode.
    EPISODE_S = 2.0

    def __repr__(self) -> str:
        return f"AdobeBudget(cap_rps={self.cap_rps:g}, max_wait_s={self.max_wait_s:g})"

    def rate_now(self, now: float) -> float:
        """Calls per second allowed at ``now`` (epoch seconds): the rate after the last 429, grown back linearly."""
        with self._lock:
            rate, since = self._rate, now - self._throttled_at
        return min(self.cap_rps, rate + max(0.0, since) * self.cap_rps / (2 * self.recovery_s))

    def _learn(self, item: dict[str, Any]) -> None:
        with self._lock:
            self._rate = float(item.get("rate", self.cap_rps))
            self._throttled_at = float(item.get("throttled_at", 0))

    def acquire(self, operation: str | None = None) -> float:
        """Reserve one call and sleep until its slot; return the seconds slept.

        Raises ``BudgetExhaustedError`` (``retry_after`` seconds, ``operation``) when the next free slot is more
        than ``max_wait_s`` ahead (``priority_max_wait_s`` for a step's later calls and ``priority`` calls).
        DynamoDB errors other than a failed condition propagate.
        """
        spent = _STEP_CALLS.get()
        queued = _PRIORITY.get() or bool(spent)
        wait_s = self.priority_max_wait_s if queued else self.max_wait_s
        for _ in range(4):
            now = self._clock()
            interval = 1.0 / self.rate_now(now)
            floor, ceiling = now - self.burst_s, now + wait_s
            try:
                answer = self._table.update_item(
                    Key=BUDGET_KEY,
                    UpdateExpression="ADD next_at :interval",
                    ConditionExpression="next_at BETWEEN :floor AND :ceiling",
                    ExpressionAttributeValues={
                        ":interval": _dec(interval),
                        ":floor": _dec(floor),
                        ":ceiling": _dec(ceiling),
                    },
                    ReturnValues="ALL_NEW",
                    ReturnValuesOnConditionCheckFailure="ALL_OLD",
                )
            except ClientError as exc:
                if not _failed(exc):
                    raise
                old = (exc.response.get("Item") or {}).get("next_at")
                next_at = None if old is None else float(old["N"] if isinstance(old, dict) else old)
                if next_at is not None and next_at > ceiling:
                    retry_after = next_at - ceiling
                    raise BudgetExhaustedError(
                        f"Adobe rate budget ({self.rate_now(now):.3g} calls/s) exhausted; retry after "
                        f"{retry_after:.1f} s",
                        retry_after=retry_after,
                        operation=operation,
                    ) from None
                if self._restart(interval):  # idle (or new): this call takes the slot at the floor
                    self._spent(spent)
                    return 0.0
                continue  # another caller restarted it first: reserve after its slot
            item = answer["Attributes"]
            self._learn(item)
            self._spent(spent)
            wait = max(0.0, float(item["next_at"]) - interval - now)
            if wait > 0:
                self._sleep(wait)
            return wait
        raise BudgetExhaustedError("Adobe rate budget contended; retry", retry_after=1.0, operation=operation)

    @staticmethod
    def _spent(before: int | None) -> None:
        if before is not None:
            _STEP_CALLS.set(before + 1)

    def _restart(self, interval: float) -> bool:
        """Restart the cursor of an idle (or absent) budget at ``now - burst_s + interval`` (a fresh clock read:
        a restart happens at most once per interval); whether this caller won, and so holds the slot at the floor.
        The others reserve after it with the ADD."""
        floor = self._clock() - self.burst_s
        next_at = floor + interval
        try:
            self._table.update_item(
                Key=BUDGET_KEY,
                UpdateExpression="SET next_at = :next",
                ConditionExpression="attribute_not_exists(next_at) OR next_at < :floor",
                ExpressionAttributeValues={":next": _dec(next_at), ":floor": _dec(floor)},
            )
        except ClientError as exc:
            if not _failed(exc):
                raise
            return False
        return True

    def throttled(self, retry_after_s: float | None) -> None:
        """Adobe answered 429: no call before ``now + retry_after_s`` (1 s when Adobe gave none), a lower rate.

        Two conditional writes, each applied by the first reporter only: the rate is cut once per throttling
        episode (no cut in the last ``retry_after_s``, at least ``EPISODE_S``), also when the cursor is already
        further ahead than Retry-After (a saturated budget: the queue holds the pause already, the rate must
        still fall); the cursor is pushed to ``now + retry_after_s`` only when it is behind that.
        """
        spent = _STEP_CALLS.get()
        if spent:  # the answered call did nothing: its resend is refused like a first call when the wait is long
            _STEP_CALLS.set(spent - 1)
        now = self._clock()
        pause = retry_after_s if retry_after_s is not None else 1.0
        until = now + pause
        reduced = max(self.cap_rps / 8, self.rate_now(now) * self.decrease)
        try:
            answer = self._table.update_item(
                Key=BUDGET_KEY,
                UpdateExpression="SET #rate = :rate, throttled_at = :now",
                ConditionExpression="attribute_not_exists(throttled_at) OR throttled_at < :episode",
                ExpressionAttributeNames={"#rate": "rate"},
                ExpressionAttributeValues={
                    ":rate": _dec(reduced),
                    ":now": _dec(now),
                    ":episode": _dec(now - max(pause, self.EPISODE_S)),
                },
                ReturnValues="ALL_NEW",
            )
            self._learn(answer["Attributes"])
            logger.warning("Adobe answered 429: budget rate %.3g calls/s", reduced)
        except ClientError as exc:
            if not _failed(exc):
                raise
        try:
            self._table.update_item(
                Key=BUDGET_KEY,
                UpdateExpression="SET next_at = :until",
                ConditionExpression="attribute_not_exists(next_at) OR next_at < :until",
                ExpressionAttributeValues={":until": _dec(until)},
            )
        except ClientError as exc:
            if not _failed(exc):
                raise
