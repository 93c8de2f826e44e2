"""Every identity query. Writes flush; the request's session dependency commits."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from kstock.identity.models import ApiKey, RefreshToken, User


async def _rowcount(session: AsyncSession, statement: Any) -> int:
    result = cast(CursorResult[Any], await session.execute(statement))
    return max(result.rowcount, 0)


# Users


async def user_by_id(session: AsyncSession, user_id: uuid.UUID) -> User | None:
    return await session.get(User, user_id)


async def user_by_email(session: AsyncSession, email: str) -> User | None:
    """The user with this (normalised) address."""
    return (await session.execute(select(User).where(User.email == email))).scalar_one_or_none()


async def add_user(session: AsyncSession, user: User) -> User:
    """Insert ``user``; raises IntegrityError when the address is taken (checked at flush)."""
    session.add(user)
    await session.flush()
    return user


async def flush(session: AsyncSession) -> None:
    """Write pending changes to loaded rows (users, keys) inside the request's transaction."""
    await session.flush()


# Refresh tokens


async def add_refresh_token(session: AsyncSession, token: RefreshToken) -> None:
    session.add(token)
    await session.flush()


async def refresh_token_by_hash(session: AsyncSession, token_hash: str) -> RefreshToken | None:
    statement = select(RefreshToken).where(RefreshToken.token_hash == token_hash)
    return (await session.execute(statement)).scalar_one_or_none()


async def mark_refresh_token_used(session: AsyncSession, token_id: uuid.UUID, now: dt.datetime) -> bool:
    """Mark the token used if nobody did first: False when a concurrent request won (that is reuse)."""
    statement = (
        update(RefreshToken)
        .where(RefreshToken.id == token_id, RefreshToken.used_at.is_(None), RefreshToken.revoked_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    return await _rowcount(session, statement) == 1


async def revoke_refresh_family(session: AsyncSession, family_id: uuid.UUID, now: dt.datetime) -> int:
    """Revoke every token of one session (family); returns how many were still live."""
    statement = (
        update(RefreshToken)
        .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )
    return await _rowcount(session, statement)


async def live_families(
    session: AsyncSession, user_id: uuid.UUID, now: dt.datetime, keep_family: uuid.UUID | None = None
) -> list[uuid.UUID]:
    """The user's sessions (refresh-token families) that can still be refreshed, but ``keep_family``."""
    statement = select(RefreshToken.family_id).where(
        RefreshToken.user_id == user_id, RefreshToken.revoked_at.is_(None), RefreshToken.expires_at > now
    )
    if keep_family is not None:
        statement = statement.where(RefreshToken.family_id != keep_family)
    return list((await session.execute(statement.distinct())).scalars().all())


async def revoke_user_refresh_tokens(
    session: AsyncSession, user_id: uuid.UUID, now: dt.datetime, *, keep_family: uuid.UUID | None = None
) -> int:
    """Revoke every session of ``user_id`` except ``keep_family``; returns how many tokens were still live."""
    statement = update(RefreshToken).where(RefreshToken.user_id == user_id, RefreshToken.revoked_at.is_(None))
    if keep_family is not None:
        statement = statement.where(RefreshToken.family_id != keep_family)
    return await _rowcount(session, statement.values(revoked_at=now).execution_options(synchronize_session=False))


# API keys


async def add_api_key(session: AsyncSession, key: ApiKey) -> ApiKey:
    session.add(key)
    await session.flush()
    return key


async def active_api_keys(session: AsyncSession, user_id: uuid.UUID) -> Sequence[ApiKey]:
    """The user's keys that were not revoked (expired ones included), oldest first."""
    statement = (
        select(ApiKey)
        .where(ApiKey.user_id == user_id, ApiKey.revoked_at.is_(None))
        .order_by(ApiKey.created_at, ApiKey.id)
    )
    return (await session.execute(statement)).scalars().all()


async def active_api_key_of(session: AsyncSession, key_id: uuid.UUID, user_id: uuid.UUID) -> ApiKey | None:
    """One of ``user_id``'s unrevoked keys; None for another user's key, so its existence is not revealed."""
    statement = select(ApiKey).where(ApiKey.id == key_id, ApiKey.user_id == user_id, ApiKey.revoked_at.is_(None))
    return (await session.execute(statement)).scalar_one_or_none()
