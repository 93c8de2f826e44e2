"""Liveness and readiness probes."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import text

from kstock import __version__
from kstock.db import migrate
from kstock.db.session import EngineDep
from kstock.errors import ServiceUnavailableError, error_responses
from kstock.market.dependencies import SnapshotDep
from kstock.market.schemas import Health, Readiness

router = APIRouter(tags=["health"])


@router.get("/health", response_model=Health, summary="Alive", responses=error_responses())
async def health() -> Health:
    """The process answers; says nothing about its dependencies."""
    return Health(status="ok", version=__version__)


@router.get("/ready", response_model=Readiness, summary="Ready", responses=error_responses(503))
async def ready(engine: EngineDep, snapshot: SnapshotDep) -> Readiness:
    """Ready to serve: the database answers, its schema is at the code's head revision, the market is loaded."""
    try:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
        revision = await migrate.current_revision(engine)
    except Exception as exc:  # any driver error means not ready
        raise ServiceUnavailableError("Database unreachable", {"database": "unreachable"}) from exc
    head = migrate.head_revision()
    if revision != head:
        raise ServiceUnavailableError("Database schema is not up to date", {"schema": revision, "expected": head})
    if not snapshot.loaded:
        try:
            await snapshot.load(engine)
        except Exception as exc:
            raise ServiceUnavailableError("Market data not loaded", {"market_snapshot": "not loaded"}) from exc
    return Readiness(
        status="ready",
        checks={"database": "ok", "schema": revision or "", "market_snapshot": f"version {snapshot.version}"},
    )
