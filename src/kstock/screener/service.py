"""Screening use cases: run a screen over the instance's snapshot, describe the fields, keep saved screens (their
queries are in ``repository.py``)."""

from __future__ import annotations

import uuid
from functools import lru_cache
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from kstock.config import Settings
from kstock.db.session import flush_unique
from kstock.errors import ConflictError, NotFoundError
from kstock.identity.principal import Principal
from kstock.identity.tiers import require_quota_after_insert
from kstock.kit.clock import iso_utc, utcnow
from kstock.kit.openapi import parse_body
from kstock.kit.pagination import Page, page_meta
from kstock.market.fields import FIELDS, Kind
from kstock.market.snapshot import MarketSnapshot
from kstock.screener import engine, repository
from kstock.screener.models import SavedScreen
from kstock.screener.schemas import ScreenDefinition, ScreenRequest


class ScreenNotFoundError(NotFoundError):
    code = "SCREEN_NOT_FOUND"

    @classmethod
    def of(cls, screen_id: uuid.UUID) -> ScreenNotFoundError:
        """The one answer for a missing screen and for another user's."""
        return cls(f"Saved screen {screen_id} not found", {"screen_id": str(screen_id)})


class ScreenNameTakenError(ConflictError):
    code = "SCREEN_NAME_TAKEN"
    default_message = "You already have a saved screen with this name"


CACHED_BODY_BYTES = 4096


def parse_screen(raw: bytes) -> tuple[ScreenRequest, engine.ScreenQuery]:
    """A screen request's body, validated and compiled (400 / 422 otherwise).

    Bodies up to 4 KiB are cached by their exact bytes: clients repeat the same screens (dashboards, presets),
    and a compiled query holds only the condition, no data, so it stays valid while the figures change.
    """
    return _parse_cached(raw) if len(raw) <= CACHED_BODY_BYTES else _parse(raw)


def _parse(raw: bytes) -> tuple[ScreenRequest, engine.ScreenQuery]:
    request = parse_body(ScreenRequest, raw)
    return request, engine.compile_screen(request)


_parse_cached = lru_cache(maxsize=512)(_parse)


def screen_response(snapshot: MarketSnapshot, query: engine.ScreenQuery, page: Page) -> dict[str, Any]:
    """The response of a screen: one page of matching stocks and the meta (total, pages, engine time)."""
    result = engine.run(snapshot.table, query, page.offset, page.per_page)
    meta = {**page_meta(page, result.total), "query_time_ms": result.query_time_ms, "as_of": snapshot.as_of}
    return {"stocks": result.stocks, "meta": meta}


def describe_fields(snapshot: MarketSnapshot) -> dict[str, Any]:
    """Every screen field with its type, unit, meaning and operators; categories list the values present."""
    snapshot.require_loaded()
    fields = [
        {
            "name": f.name,
            "type": f.kind.value,
            "unit": f.unit,
            "group": f.group,
            "description": f.description,
            "sortable": f.sortable,
            "filterable": bool(f.operators),
            "operators": list(f.operators),
            "values": snapshot.category_labels(f.name) if f.kind is Kind.CATEGORY and f.name != "code" else None,
        }
        for f in FIELDS
    ]
    return {"fields": fields, "meta": {"count": len(fields)}}


# -- saved screens ---------------------------------------------------------------------------------------------


def saved_dict(screen: SavedScreen) -> dict[str, Any]:
    return {
        "id": str(screen.id),
        "name": screen.name,
        "definition": screen.definition,
        "created_at": iso_utc(screen.created_at),
        "updated_at": iso_utc(screen.updated_at),
    }


def stored_definition(definition: ScreenDefinition) -> dict[str, Any]:
    """A definition as saved: validated against the catalog first (400 / 422 like a screen), JSON-ready."""
    engine.compile_screen(definition)
    return definition.model_dump(mode="json", by_alias=True, exclude_none=True)


async def list_screens(session: AsyncSession, principal: Principal) -> list[SavedScreen]:
    return await repository.screens_of(session, principal.user_id)


async def get_screen(session: AsyncSession, principal: Principal, screen_id: uuid.UUID) -> SavedScreen:
    """The caller's screen; another user's screen is not found, exactly like a missing one."""
    screen = await repository.screen_of(session, principal.user_id, screen_id)
    if screen is None:
        raise ScreenNotFoundError.of(screen_id)
    return screen


async def create_screen(
    session: AsyncSession, principal: Principal, settings: Settings, name: str, definition: ScreenDefinition
) -> SavedScreen:
    """Save a screen within the tier's quota (checked after the insert: :func:`require_quota_after_insert`)."""
    now = utcnow()
    screen = SavedScreen(
        user_id=principal.user_id, name=name, definition=stored_definition(definition), created_at=now, updated_at=now
    )
    session.add(screen)
    await flush_unique(session, ScreenNameTakenError(details={"name": name}))
    await require_quota_after_insert(session, principal, settings, "saved_screens", SavedScreen)
    return screen


async def replace_screen(
    session: AsyncSession, principal: Principal, screen_id: uuid.UUID, name: str, definition: ScreenDefinition
) -> SavedScreen:
    screen = await get_screen(session, principal, screen_id)
    screen.name = name
    screen.definition = stored_definition(definition)
    screen.updated_at = utcnow()
    await flush_unique(session, ScreenNameTakenError(details={"name": name}))
    return screen


async def delete_screen(session: AsyncSession, principal: Principal, screen_id: uuid.UUID) -> None:
    if not await repository.delete_screen(session, principal.user_id, screen_id):
        raise ScreenNotFoundError.of(screen_id)
