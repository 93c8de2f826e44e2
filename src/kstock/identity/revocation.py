"""Revoked access tokens: by token id (``jti``) and by session (``sid``), until the tokens could expire; and the
announcement every instance hears when a credential ends.

With Redis, a revocation on one instance is seen by all. Every revocation is also kept in this process, and a
Redis error falls back to that local view (logged), so a Redis outage never lets this instance forget its own
revocations. Checking a token asks about its ``jti`` and its ``sid`` in one round trip (``EXISTS`` of two keys).

:class:`Ended` is what a logout, a refresh-token reuse, a password change, a deactivation or a key revocation
announces on ``identity.revoked`` (:data:`kstock.broker.channels.IDENTITY_REVOKED`) once it is stored: every
instance closes the WebSocket connections it matches and drops its cached copies of the user's and key's records.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

import orjson
import structlog
from redis.asyncio import Redis
from redis.exceptions import RedisError

from kstock.identity.principal import Principal

_PRUNE_ABOVE = 10_000

log = structlog.get_logger("kstock.identity.revocation")


class RevocationStore:
    """``jti`` and session id -> expiry (epoch seconds); expired entries are dropped as they are met."""

    def __init__(self, redis: Redis | None = None, prefix: str = "kstock:") -> None:
        self._redis = redis
        self._prefix = f"{prefix}revoked-jti:"
        self._session_prefix = f"{prefix}revoked-sid:"
        self._local: dict[str, float] = {}  # jti, or "sid:" + session id -> until

    async def revoke(self, jti: str, expires_at: float) -> None:
        """Refuse ``jti`` until ``expires_at`` (after which the token is refused as expired anyway)."""
        await self._add(jti, self._prefix + jti, expires_at)

    async def revoke_sessions(self, session_ids: list[uuid.UUID], until: float) -> None:
        """Refuse every access token issued in these sessions until ``until`` (when the last of them has expired:
        now plus the access tokens' lifetime)."""
        for session_id in session_ids:
            await self._add("sid:" + str(session_id), self._session_prefix + str(session_id), until)

    async def _add(self, local_key: str, redis_key: str, until: float) -> None:
        self._local[local_key] = until
        if len(self._local) > _PRUNE_ABOVE:
            # Entries are otherwise dropped only when their token is seen again: prune the expired ones.
            now = time.time()
            self._local = {key: left for key, left in self._local.items() if left > now}
        if self._redis is not None:
            ttl = max(int(until - time.time()) + 1, 1)
            try:
                await self._redis.set(redis_key, b"1", ex=ttl)
            except RedisError as exc:
                log.warning("revocation_redis_write_failed", error=str(exc))

    def _local_hit(self, key: str) -> bool:
        until = self._local.get(key)
        if until is None:
            return False
        if until > time.time():
            return True
        del self._local[key]
        return False

    async def is_revoked(self, jti: str, session_id: uuid.UUID | None = None) -> bool:
        """Whether the token ``jti`` (of session ``session_id``) was revoked, itself or with its session."""
        sid = None if session_id is None else str(session_id)
        if self._local_hit(jti) or (sid is not None and self._local_hit("sid:" + sid)):
            return True
        if self._redis is None:
            return False
        keys = [self._prefix + jti] if sid is None else [self._prefix + jti, self._session_prefix + sid]
        try:
            return bool(await self._redis.exists(*keys))
        except RedisError as exc:
            log.warning("revocation_redis_read_failed", error=str(exc))
            return False


@dataclass(frozen=True, slots=True)
class Ended:
    """Credentials that just ended, as announced on ``identity.revoked``.

    * a session (logout, refresh-token reuse): ``session_id``;
    * an API key (revoked): ``key_prefix``;
    * a user's sessions (password change: all but ``except_session``; deactivation: all, and ``keys`` too).
    """

    user_id: uuid.UUID
    reason: str
    session_id: uuid.UUID | None = None
    key_prefix: str | None = None
    all_sessions: bool = False
    except_session: uuid.UUID | None = None
    keys: bool = False

    def matches(self, principal: Principal) -> bool:
        """Whether ``principal`` (the user's, by the caller's index) acts with a credential that ended."""
        if principal.user_id != self.user_id:
            return False
        if principal.api_key_prefix is not None:
            return self.keys or principal.api_key_prefix == self.key_prefix
        if self.all_sessions:
            return principal.session_id is None or principal.session_id != self.except_session
        return self.session_id is not None and principal.session_id == self.session_id

    def encode(self) -> bytes:
        return orjson.dumps(
            {
                "user_id": str(self.user_id),
                "reason": self.reason,
                "session_id": None if self.session_id is None else str(self.session_id),
                "key_prefix": self.key_prefix,
                "all_sessions": self.all_sessions,
                "except_session": None if self.except_session is None else str(self.except_session),
                "keys": self.keys,
            }
        )

    @classmethod
    def decode(cls, data: bytes) -> Ended:
        """The announcement in ``data``; ValueError (or KeyError, TypeError) when it is not one."""
        raw: dict[str, Any] = orjson.loads(data)

        def optional_id(name: str) -> uuid.UUID | None:
            value = raw.get(name)
            return None if value is None else uuid.UUID(value)

        return cls(
            user_id=uuid.UUID(raw["user_id"]),
            reason=str(raw["reason"]),
            session_id=optional_id("session_id"),
            key_prefix=raw.get("key_prefix"),
            all_sessions=bool(raw.get("all_sessions")),
            except_session=optional_id("except_session"),
            keys=bool(raw.get("keys")),
        )
