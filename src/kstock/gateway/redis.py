"""The process's Redis client (shared counters, revocations, cache, pub/sub), when ``KSTOCK_REDIS_URL`` is set."""

from __future__ import annotations

from redis.asyncio import Redis

from kstock.config import Settings


def create_redis(settings: Settings) -> Redis | None:
    """A pooled client with short timeouts (a slow Redis must not stall requests); None without a URL."""
    if not settings.redis_url:
        return None
    return Redis.from_url(
        settings.redis_url,
        socket_timeout=0.5,
        socket_connect_timeout=0.5,
        health_check_interval=15,
        retry_on_timeout=False,
    )
