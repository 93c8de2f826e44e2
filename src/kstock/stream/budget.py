"""Per-user stream budgets: open ``/ws/stocks`` connections and streamed stock codes, counted over all of a user's
connections on every instance (the tier's ``stream_connections`` and ``stream_codes`` quotas).

Each instance keeps its own users' usage (:attr:`StreamBudget.local`): how many connections they hold here and the
sum of each connection's distinct stock codes. With Redis every instance also writes those numbers, as absolute
values, into one hash per user (``{prefix}ws-budget:{user}``, a field per instance holding ``connections,codes,
until``), and a Lua script checks and writes atomically: the other instances' fields plus this instance's new
numbers must stay within the limit. A field whose ``until`` has passed is ignored and deleted, and every instance
rewrites its fields every ``refresh_s`` seconds, so an instance that crashed stops counting after
``3 * refresh_s``; whatever a write missed (an outage, a refused reservation) is corrected by the next one.

While Redis does not answer, decisions are taken on this instance's own numbers (a limit then holds per instance),
as the rate limits do.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from dataclasses import dataclass
from typing import Any, Final, NamedTuple

import structlog
from redis.asyncio import Redis
from redis.exceptions import RedisError

from kstock.config import Settings
from kstock.identity.principal import Principal
from kstock.identity.tiers import TierLimitError, quota_limit, require_quota

log = structlog.get_logger("kstock.stream.budget")

CONNECTIONS: Final = "stream_connections"
CODES: Final = "stream_codes"

# KEYS[1]: the user's hash. ARGV: this instance's field, its connections and codes (after the change), the
# connection and code limits (-1: not checked), the field's time to live (s). Returns {allowed, connections,
# codes}: the user's totals over the live instances, this instance's new numbers included.
_CHECK_AND_SET: Final = """
local now = tonumber(redis.call('TIME')[1])
local field = ARGV[1]
local own_c, own_s = tonumber(ARGV[2]), tonumber(ARGV[3])
local max_c, max_s, ttl = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local c, s = own_c, own_s
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all, 2 do
  if all[i] ~= field then
    local oc, os, live = string.match(all[i + 1], '^(%d+),(%d+),(%d+)$')
    if live == nil or tonumber(live) < now then
      redis.call('HDEL', KEYS[1], all[i])
    else
      c = c + tonumber(oc)
      s = s + tonumber(os)
    end
  end
end
if (max_c >= 0 and c > max_c) or (max_s >= 0 and s > max_s) then
  return {0, c, s}
end
if own_c == 0 and own_s == 0 then
  redis.call('HDEL', KEYS[1], field)
else
  redis.call('HSET', KEYS[1], field, own_c .. ',' .. own_s .. ',' .. (now + ttl))
  redis.call('EXPIRE', KEYS[1], ttl)
end
return {1, c, s}
"""


@dataclass(slots=True)
class Usage:
    """One user's connections and streamed codes on this instance."""

    connections: int = 0
    codes: int = 0


class Refused(NamedTuple):
    """A reservation over a quota: which one, its limit, and the user's total with the reservation."""

    quota: str
    limit: int
    total: int


def limit_refusal(principal: Principal, refused: Refused, settings: Settings) -> tuple[str, dict[str, Any]]:
    """The tier-limit message and details of a refusal (the limit, the tier, the tier that allows more)."""
    try:
        require_quota(principal, refused.quota, refused.total, settings)
    except TierLimitError as exc:
        return exc.message, dict(exc.details)
    return f"Limit of {refused.limit} reached", {"limit": refused.limit}  # the tier changed meanwhile


class StreamBudget:
    """Reserve and release connections and codes per user; refuses what would pass the user's tier limits."""

    def __init__(self, redis: Redis | None = None, prefix: str = "kstock:", refresh_s: float = 15.0) -> None:
        self.instance = uuid.uuid4().hex[:16]
        self.local: dict[uuid.UUID, Usage] = {}
        self.refresh_s = refresh_s
        self._ttl = max(1, round(3 * refresh_s))
        self._prefix = f"{prefix}ws-budget:"
        self._redis = redis
        self._script: Any = redis.register_script(_CHECK_AND_SET) if redis is not None else None
        self._task: asyncio.Task[None] | None = None
        self._redis_down = False

    async def start(self) -> None:
        if self._script is not None:
            self._task = asyncio.create_task(self._refresh_loop(), name="stream-budget")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def acquire(self, principal: Principal, *, connections: int = 0, codes: int = 0) -> Refused | None:
        """Reserve ``connections`` and ``codes`` for the principal's user; a :class:`Refused` (and nothing
        reserved) when that would pass a tier limit. Only what grows is checked."""
        user_id = principal.user_id
        usage = self.local.setdefault(user_id, Usage())
        usage.connections += connections
        usage.codes += codes  # reserved before any await: concurrent reservations here see each other
        max_connections = quota_limit(principal, CONNECTIONS) if connections > 0 else None
        max_codes = quota_limit(principal, CODES) if codes > 0 else None
        totals = (usage.connections, usage.codes)
        if self._script is not None and (max_connections is not None or max_codes is not None):
            shared = await self._write(user_id, usage, max_connections, max_codes)
            if shared is not None:
                totals = shared
        refused = None
        if max_connections is not None and totals[0] > max_connections:
            refused = Refused(CONNECTIONS, max_connections, totals[0])
        elif max_codes is not None and totals[1] > max_codes:
            refused = Refused(CODES, max_codes, totals[1])
        if refused is not None:
            self._take_back(user_id, usage, connections, codes)
            return refused
        if self._script is not None and max_connections is None and max_codes is None:
            await self._write(user_id, usage, None, None)  # unlimited tier: counted all the same
        return None

    async def release(self, principal: Principal, *, connections: int = 0, codes: int = 0) -> None:
        """Give back what :meth:`acquire` reserved (a connection closed, codes unsubscribed)."""
        usage = self.local.get(principal.user_id)
        if usage is None:
            return
        self._take_back(principal.user_id, usage, connections, codes)
        if self._script is not None:
            await self._write(principal.user_id, usage, None, None)

    def _take_back(self, user_id: uuid.UUID, usage: Usage, connections: int, codes: int) -> None:
        usage.connections = max(0, usage.connections - connections)
        usage.codes = max(0, usage.codes - codes)
        if not usage.connections and not usage.codes and self.local.get(user_id) is usage:
            del self.local[user_id]

    async def _write(
        self, user_id: uuid.UUID, usage: Usage, max_connections: int | None, max_codes: int | None
    ) -> tuple[int, int] | None:
        """Check (where a limit is given) and write this instance's numbers; the user's totals, or None when
        Redis did not answer (the caller decides on this instance's numbers)."""
        args = [
            self.instance,
            usage.connections,
            usage.codes,
            -1 if max_connections is None else max_connections,
            -1 if max_codes is None else max_codes,
            self._ttl,
        ]
        try:
            _, total_connections, total_codes = await self._script(keys=[f"{self._prefix}{user_id}"], args=args)
        except RedisError as exc:
            if not self._redis_down:
                self._redis_down = True
                log.warning("stream_budget_redis_down", error=str(exc))
            return None
        if self._redis_down:
            self._redis_down = False
            log.info("stream_budget_redis_back")
        return int(total_connections), int(total_codes)

    async def refresh(self) -> None:
        """Rewrite this instance's numbers of every user it serves (they live ``3 * refresh_s`` seconds)."""
        if self._redis is None or not self.local:
            return
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for user_id, usage in list(self.local.items()):
                    args = [self.instance, usage.connections, usage.codes, -1, -1, self._ttl]
                    await self._script(keys=[f"{self._prefix}{user_id}"], args=args, client=pipe)
                await pipe.execute()
        except RedisError as exc:
            log.warning("stream_budget_refresh_failed", error=str(exc))

    async def _refresh_loop(self) -> None:
        while True:
            await asyncio.sleep(self.refresh_s)
            try:
                await self.refresh()
            except Exception:  # one bad round must not stop the refreshes
                log.exception("stream_budget_refresh_failed")
