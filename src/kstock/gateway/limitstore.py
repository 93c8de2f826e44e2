"""Fixed-window counters for rate limits and throttles: shared in Redis, or in this process.

Fail-open policy: when Redis does not answer, the decision is taken on this process's own counters (a limit then
holds per instance instead of across the deployment), one warning is logged for the outage, and
``kstock_redis_fallbacks_total`` counts every decision taken that way. While Redis is down at most one decision
every ``KSTOCK_RATE_LIMIT_REDIS_PROBE_S`` seconds tries it again; the first that succeeds returns every decision to
the shared counters (logged once). Redis calls fail fast (0.5 s timeouts; one immediate retry on a broken
connection, none on a timeout): a slow Redis must not stall requests.
"""

from __future__ import annotations

import heapq
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Final, Protocol, TypeVar

import structlog
from limits import RateLimitItem
from limits.aio.storage import Storage
from limits.errors import StorageError
from limits.storage import storage_from_string
from redis.asyncio import ConnectionPool
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError

from kstock.gateway.metrics import REDIS_FALLBACKS

log = structlog.get_logger("kstock.ratelimit")
T = TypeVar("T")
REDIS_TIMEOUT_S: Final = 0.5


class Counters(Protocol):
    """The calls :class:`LimitStore` makes on a counter storage (a subset of ``limits.aio.storage.Storage``)."""

    async def incr(self, key: str, expiry: int, amount: int = 1) -> int: ...

    async def get(self, key: str) -> int: ...

    async def get_expiry(self, key: str) -> float: ...


class LocalCounters:
    """Fixed-window counters in this process.

    Not ``limits``' MemoryStorage: that one walks every key on every event-loop turn after a hit, which measured
    1 ms per request with 10,000 live keys (one per client IP and window) and 7.6 ms with 50,000. Here expired
    keys leave through a heap ordered by expiry, so a hit costs O(log n) whatever the number of callers.
    """

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._counts: dict[str, tuple[int, float]] = {}  # key -> (count, expiry as epoch seconds)
        self._expiries: list[tuple[float, str]] = []

    async def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        now = self._clock()
        self._sweep(now)
        count, until = self._counts.get(key, (0, 0.0))
        if until <= now:
            count, until = 0, now + expiry
            heapq.heappush(self._expiries, (until, key))
        count += amount
        self._counts[key] = (count, until)
        return count

    async def get(self, key: str) -> int:
        count, until = self._counts.get(key, (0, 0.0))
        return count if until > self._clock() else 0

    async def get_expiry(self, key: str) -> float:
        now = self._clock()
        _, until = self._counts.get(key, (0, 0.0))
        return until if until > now else now

    def __len__(self) -> int:
        return len(self._counts)

    def _sweep(self, now: float) -> None:
        heap = self._expiries
        while heap and heap[0][0] <= now:
            _, key = heapq.heappop(heap)
            entry = self._counts.get(key)
            if entry is not None and entry[1] <= now:  # not a window opened again since
                del self._counts[key]


@dataclass(frozen=True, slots=True)
class Usage:
    """One limit after a request was counted (or looked at) against it."""

    policy: str
    item: RateLimitItem
    count: int
    reset_at: float  # epoch seconds at which the window ends

    @property
    def limit(self) -> int:
        return self.item.amount

    @property
    def window_s(self) -> int:
        return self.item.get_expiry()

    @property
    def remaining(self) -> int:
        return max(0, self.item.amount - self.count)

    @property
    def allowed(self) -> bool:
        return self.count <= self.item.amount


class LimitStore:
    """Counters keyed by a limit and the identifiers it counts (caller, IP, account)."""

    def __init__(self, redis_url: str | None, key_prefix: str = "kstock:", probe_interval_s: float = 5.0) -> None:
        self.probe_interval_s = probe_interval_s
        self._local = LocalCounters()
        self._pool: ConnectionPool | None = None
        self._shared: Storage | None = None
        self._down_since: float | None = None  # monotonic time of the outage's first failure
        self._next_probe = 0.0
        self._fallbacks = 0
        if redis_url:
            self._pool = ConnectionPool.from_url(
                redis_url,
                socket_timeout=REDIS_TIMEOUT_S,
                socket_connect_timeout=REDIS_TIMEOUT_S,
                # One immediate retry on a broken connection (a pooled socket that died with a restarted server);
                # none on a timeout, which would only double the wait.
                retry=Retry(NoBackoff(), 1, supported_errors=(RedisConnectionError,)),
                health_check_interval=15,
            )
            storage = storage_from_string(
                f"async+{redis_url}",
                implementation="redispy",
                wrap_exceptions=True,
                key_prefix=f"{key_prefix}limits",
                connection_pool=self._pool,  # type: ignore[arg-type]  # forwarded to redis.asyncio.Redis
            )
            if not isinstance(storage, Storage):  # pragma: no cover - the async+ scheme always gives one
                raise TypeError("expected an async limits storage")
            self._shared = storage

    @property
    def shared(self) -> bool:
        """True when counters are configured to be shared through Redis."""
        return self._shared is not None

    @property
    def degraded(self) -> bool:
        """True while Redis is considered down and decisions use this process's counters."""
        return self._down_since is not None

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.aclose()

    async def hit(
        self, item: RateLimitItem, *identifiers: str, component: str, policy: str = "", anchored: bool = False
    ) -> Usage:
        """Count one event against ``item`` for ``identifiers``.

        Windows are aligned on the clock (a per-minute window ends at every whole minute) unless ``anchored``,
        where the first event opens the window: aligned windows cost one Redis call and give every instance the
        same, exact reset time; anchored ones suit throttles ("blocked for 15 minutes after the 10th failure").
        """
        key, reset_at = self._window(item, identifiers, anchored)

        async def incr(storage: Counters) -> tuple[int, float]:
            count = await storage.incr(key, item.get_expiry())
            return count, (await storage.get_expiry(key) if anchored else reset_at)

        count, reset = await self._run(incr, component)
        return Usage(policy, item, count, reset)

    async def peek(
        self, item: RateLimitItem, *identifiers: str, component: str, policy: str = "", anchored: bool = False
    ) -> Usage:
        """``item``'s count for ``identifiers`` without counting anything."""
        key, reset_at = self._window(item, identifiers, anchored)

        async def get(storage: Counters) -> tuple[int, float]:
            count = await storage.get(key)
            return count, (await storage.get_expiry(key) if anchored and count else reset_at)

        count, reset = await self._run(get, component)
        return Usage(policy, item, count, reset)

    @staticmethod
    def _window(item: RateLimitItem, identifiers: tuple[str, ...], anchored: bool) -> tuple[str, float]:
        """The counter's key and (for aligned windows) the epoch second the window ends."""
        window_s = item.get_expiry()
        now = time.time()
        if anchored:
            return item.key_for(*identifiers), now + window_s
        index = int(now // window_s)
        return item.key_for(*identifiers, str(index)), float((index + 1) * window_s)

    async def _run(self, operation: Callable[[Counters], Awaitable[T]], component: str) -> T:
        shared = self._shared
        if shared is not None and self._should_try_shared():
            try:
                result = await operation(shared)
            except (StorageError, RedisError, OSError) as exc:
                self._mark_down(exc)
            else:
                if self._down_since is not None:
                    self._mark_up()
                return result
        if shared is not None:
            self._fallbacks += 1
            REDIS_FALLBACKS.labels(component).inc()
        return await operation(self._local)

    def _should_try_shared(self) -> bool:
        if self._down_since is None:
            return True
        now = time.monotonic()
        if now < self._next_probe:
            return False
        self._next_probe = now + self.probe_interval_s  # one probe per interval, not one per concurrent request
        return True

    def _mark_down(self, exc: Exception) -> None:
        now = time.monotonic()
        self._next_probe = now + self.probe_interval_s
        if self._down_since is None:
            self._down_since = now
            self._fallbacks = 0
            cause = exc.storage_error if isinstance(exc, StorageError) else exc
            log.warning(
                "rate_limit_redis_unavailable",
                error=f"{type(cause).__name__}: {cause}",
                policy="fail-open: limits are counted per instance until Redis answers again",
                probe_interval_s=self.probe_interval_s,
            )

    def _mark_up(self) -> None:
        assert self._down_since is not None  # noqa: S101 - only called during an outage
        log.warning(
            "rate_limit_redis_restored",
            outage_s=round(time.monotonic() - self._down_since, 1),
            fallback_decisions=self._fallbacks,
        )
        self._down_since = None
