"""Revoked access-token ids (``jti``) until their tokens expire: in-process, or shared through Redis.

With Redis, a logout on one instance is seen by all. Every revocation is also kept in this process, and a
Redis error falls back to that local view (logged), so a Redis outage never lets this instance forget its own
revocations.
"""

from __future__ import annotations

import time

import structlog
from redis.asyncio import Redis
from redis.exceptions import RedisError

_PRUNE_ABOVE = 10_000

log = structlog.get_logger("kstock.identity.revocation")


class RevocationStore:
    """``jti`` -> expiry (epoch seconds); expired entries are dropped as they are met."""

    def __init__(self, redis: Redis | None = None, prefix: str = "kstock:") -> None:
        self._redis = redis
        self._prefix = f"{prefix}revoked-jti:"
        self._local: dict[str, float] = {}

    async def revoke(self, jti: str, expires_at: float) -> None:
        """Refuse ``jti`` until ``expires_at`` (after which the token is refused as expired anyway)."""
        self._local[jti] = expires_at
        if len(self._local) > _PRUNE_ABOVE:
            # Entries are otherwise dropped only when their token is seen again: prune the expired ones.
            now = time.time()
            self._local = {key: until for key, until in self._local.items() if until > now}
        if self._redis is not None:
            ttl = max(int(expires_at - time.time()) + 1, 1)
            try:
                await self._redis.set(self._prefix + jti, b"1", ex=ttl)
            except RedisError as exc:
                log.warning("revocation_redis_write_failed", error=str(exc))

    async def is_revoked(self, jti: str) -> bool:
        until = self._local.get(jti)
        if until is not None:
            if until > time.time():
                return True
            del self._local[jti]
        if self._redis is None:
            return False
        try:
            return bool(await self._redis.exists(self._prefix + jti))
        except RedisError as exc:
            log.warning("revocation_redis_read_failed", error=str(exc))
            return False
