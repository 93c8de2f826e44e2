"""Admin routes of the gateway: the audit log."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from kstock.db.session import SessionDep
from kstock.errors import UnprocessableError, error_responses
from kstock.gateway.audit import AuditFilter, search_events
from kstock.gateway.models import AuditEvent
from kstock.identity.dependencies import AdminPrincipal
from kstock.kit.clock import as_utc, iso_utc
from kstock.kit.dates import IsoDateTime
from kstock.kit.pagination import PageDep, PageMeta, page_meta

router = APIRouter(prefix="/admin", tags=["admin"])


class AuditEventOut(BaseModel):
    id: int
    occurred_at: str = Field(examples=["2026-01-02T03:04:05.678Z"])
    event: str = Field(examples=["http.request", "auth.login_failed"])
    actor_user_id: uuid.UUID | None
    actor_key_prefix: str | None = Field(examples=["ks_3f9a1c"])
    ip: str | None
    method: str | None
    path: str | None
    status: int | None
    request_id: str | None
    summary: dict[str, Any] | None = Field(description="what the request or event carried, secrets redacted")


class AuditPage(BaseModel):
    events: list[AuditEventOut]
    meta: PageMeta


def _out(row: AuditEvent) -> AuditEventOut:
    summary = orjson.loads(row.summary) if row.summary else None
    return AuditEventOut(
        id=row.id,
        occurred_at=iso_utc(row.occurred_at),
        event=row.event,
        actor_user_id=row.actor_user_id,
        actor_key_prefix=row.actor_key_prefix,
        ip=row.ip,
        method=row.method,
        path=row.path,
        status=row.status,
        request_id=row.request_id,
        summary=summary if isinstance(summary, dict) else {"value": summary},
    )


@router.get(
    "/audit",
    response_model=AuditPage,
    summary="Audit log",
    description="State-changing requests and authentication events, newest first. Admins only. "
    "`from`/`to` are ISO 8601 times (UTC when no offset is given), both inclusive.",
    responses=error_responses(400, 401, 403, 422),
)
async def list_audit_events(
    _admin: AdminPrincipal,
    session: SessionDep,
    page: PageDep,
    actor: Annotated[str | None, Query(max_length=64, description="a user id or an API-key prefix")] = None,
    event: Annotated[
        str | None, Query(max_length=50, description="an event name, or a prefix ending in *", examples=["auth.*"])
    ] = None,
    occurred_from: Annotated[IsoDateTime | None, Query(alias="from", examples=["2026-01-01T00:00:00Z"])] = None,
    occurred_to: Annotated[IsoDateTime | None, Query(alias="to", examples=["2026-01-31T23:59:59Z"])] = None,
) -> AuditPage:
    start, end = as_utc(occurred_from), as_utc(occurred_to)
    if start is not None and end is not None and start > end:
        raise UnprocessableError("from is after to", {"from": ["must not be after to"]}, code="INVALID_DATE_RANGE")
    where = AuditFilter(actor=actor, event=event, occurred_from=start, occurred_to=end)
    rows, total = await search_events(session, where, page.offset, page.per_page)
    return AuditPage(events=[_out(row) for row in rows], meta=PageMeta(**page_meta(page, total)))
