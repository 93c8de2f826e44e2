"""The session dependency: one transaction per request, committed on success, rolled back on error.

Dependencies are ``async def`` on purpose: FastAPI runs plain ``def`` dependencies in a thread pool, a thread hop
per request that costs more than the work they do.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated, Any, Final, Protocol

import structlog
from fastapi import Depends, Request
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from starlette.requests import HTTPConnection

from kstock import state

log = structlog.get_logger("kstock.db.session")
_AFTER_COMMIT = "after_commit"


class DbState(Protocol):
    """What the database dependencies read from the application state (``kstock.runtime.AppState``)."""

    @property
    def engine(self) -> AsyncEngine: ...

    @property
    def sessionmaker(self) -> async_sessionmaker[AsyncSession]: ...


state_of: Final[Callable[[HTTPConnection], DbState]] = state.state_of


def after_commit(session: AsyncSession, action: Callable[[], Awaitable[None]]) -> None:
    """Run ``action`` once the request's transaction has committed (never when it rolls back): events about a
    write (cache invalidations, stream notifications) must not announce what was not stored."""
    session.info.setdefault(_AFTER_COMMIT, []).append(action)


async def _run_after_commit(session: AsyncSession) -> None:
    for action in session.info.pop(_AFTER_COMMIT, ()):
        try:
            await action()
        except Exception:  # the write is stored; a lost notification must not turn it into an error
            log.exception("after_commit_action_failed")


async def get_sessionmaker(request: Request) -> async_sessionmaker[Any]:
    return state_of(request).sessionmaker


async def get_engine(request: Request) -> AsyncEngine:
    return state_of(request).engine


async def get_session(
    maker: Annotated[async_sessionmaker[Any], Depends(get_sessionmaker)],
) -> AsyncIterator[AsyncSession]:
    """Services ``flush()``; the commit happens here, once, when the endpoint returned without error.

    A session that never began a transaction (a read served from memory) holds no connection and nothing to
    commit: it is dropped without the commit and close round trips (a quarter of a millisecond per request).
    """
    session = maker()
    try:
        yield session
    except BaseException:
        session.info.pop(_AFTER_COMMIT, None)
        if session.in_transaction():
            await session.rollback()
        raise
    else:
        if session.in_transaction():
            await session.commit()
        await _run_after_commit(session)
    finally:
        if session.in_transaction() or session.identity_map:
            await session.close()


# scope="function": the transaction commits when the endpoint returns, before the response is sent, so a client
# that reads the response can rely on what it says being stored (a rotated refresh token, a revoked key).
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
EngineDep = Annotated[AsyncEngine, Depends(get_engine)]


async def flush_unique(session: AsyncSession, conflict: Exception) -> None:
    """Flush the session's pending writes; a unique-constraint violation is raised as ``conflict`` (a 409), and
    the request's session dependency rolls the transaction back."""
    try:
        await session.flush()
    except IntegrityError as exc:
        raise conflict from exc
