"""The process's Redis client (shared counters, revocations, cache), when ``KSTOCK_REDIS_URL`` is set."""

from __future__ import annotations

from typing import Final

from redis.asyncio import BlockingConnectionPool, Redis

from kstock.config import Settings

# A burst (10,000 WebSocket clients reconnecting after a restart, each checking its token's revocation) must
# queue for a connection briefly rather than fail with "Too many connections".
MAX_CONNECTIONS: Final = 64
POOL_WAIT_S: Final = 0.5


def create_redis(settings: Settings) -> Redis | None:
    """A pooled client with short timeouts (a slow Redis must not stall requests); None without a URL."""
    if not settings.redis_url:
        return None
    pool = BlockingConnectionPool.from_url(
        settings.redis_url,
        max_connections=MAX_CONNECTIONS,
        timeout=POOL_WAIT_S,
        socket_timeout=0.5,
        socket_connect_timeout=0.5,
        health_check_interval=15,
        retry_on_timeout=False,
    )
    return Redis.from_pool(pool)  # the client owns the pool: closing it closes the connections
