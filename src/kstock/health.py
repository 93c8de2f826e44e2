"""Liveness and readiness probes."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import text

from kstock import __version__
from kstock.db import migrate
from kstock.db.session import EngineDep
from kstock.errors import ServiceUnavailableError, error_responses
from kstock.market.schemas import Health, Readiness

router = APIRouter(tags=["health"])


@router.get("/health", response_model=Health, summary="Alive")
async def health() -> Health:
    """The process answers; says nothing about its dependencies."""
    return Health(status="ok", version=__version__)


@router.get("/ready", response_model=Readiness, summary="Ready", responses=error_responses(503))
async def ready(engine: EngineDep) -> Readiness:
    """Ready to serve: the database answers and its schema is at the code's head revision."""
    try:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
        revision = await migrate.current_revision(engine)
    except Exception as exc:  # any driver error means not ready
        raise ServiceUnavailableError("Database unreachable", {"database": "unreachable"}) from exc
    head = migrate.head_revision()
    if revision != head:
        raise ServiceUnavailableError("Database schema is not up to date", {"schema": revision, "expected": head})
    return Readiness(status="ready", checks={"database": "ok", "schema": revision or ""})
