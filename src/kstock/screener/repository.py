"""Every saved-screen query. The service holds the rules (ownership, the quota, validation) and calls these for the
rows; each takes the caller's session, so the transaction stays theirs."""

from __future__ import annotations

import uuid

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from kstock.screener.models import SavedScreen


async def screens_of(session: AsyncSession, user_id: uuid.UUID) -> list[SavedScreen]:
    """The user's saved screens, oldest first."""
    statement = (
        select(SavedScreen).where(SavedScreen.user_id == user_id).order_by(SavedScreen.created_at, SavedScreen.id)
    )
    return list((await session.execute(statement)).scalars())


async def screen_of(session: AsyncSession, user_id: uuid.UUID, screen_id: uuid.UUID) -> SavedScreen | None:
    """The user's screen; None for a missing one and for another user's."""
    statement = select(SavedScreen).where(SavedScreen.id == screen_id, SavedScreen.user_id == user_id)
    return (await session.execute(statement)).scalar_one_or_none()


async def delete_screen(session: AsyncSession, user_id: uuid.UUID, screen_id: uuid.UUID) -> bool:
    """Delete the user's screen; False when no row matched."""
    result = await session.execute(
        delete(SavedScreen).where(SavedScreen.id == screen_id, SavedScreen.user_id == user_id)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]
