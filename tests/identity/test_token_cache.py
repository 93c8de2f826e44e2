"""The per-instance cache of verified access tokens never extends a token's life."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid

import pytest

from kstock.config import Settings
from kstock.errors import UnauthorizedError
from kstock.identity.dependencies import IdentityCache
from kstock.identity.security import create_access_token


async def test_cached_token_is_refused_once_expired() -> None:
    settings = Settings(env="testing", jwt_leeway_s=0)
    # Issued so that it expires one second from now.
    issued = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=settings.access_token_ttl_s - 1)
    token, jti, _ = create_access_token(settings, uuid.uuid4(), now=issued)
    cache = IdentityCache()
    assert cache.verified_claims(settings, token)["jti"] == jti
    assert cache.verified_claims(settings, token)["jti"] == jti  # served from the cache
    await asyncio.sleep(1.6)
    with pytest.raises(UnauthorizedError, match="expired"):
        cache.verified_claims(settings, token)
    assert token not in cache.tokens


def test_only_verified_tokens_are_cached() -> None:
    settings = Settings(env="testing")
    cache = IdentityCache()
    token, _, _ = create_access_token(settings, uuid.uuid4())
    with pytest.raises(UnauthorizedError):
        cache.verified_claims(settings, token[:-2] + ("AA" if not token.endswith("AA") else "BB"))
    assert len(cache.tokens) == 0
    for _ in range(3):
        cache.verified_claims(settings, create_access_token(settings, uuid.uuid4())[0])
    assert len(cache.tokens) == 3
