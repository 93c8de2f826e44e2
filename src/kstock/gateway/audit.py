"""The audit log: every state-changing request, and the events services report through :func:`audit_event`.

Rows are written in their own session and transaction, never in the request's, so an event is kept when the
request's transaction rolls back. Inside a request the rows are collected and written by the gateway middleware
(:func:`begin_request`, :func:`end_request`) once the response has been sent: by then the request's transaction is
over, so on SQLite the audit write never waits for the write lock the request itself holds. A failed write never
fails the request: it is logged (``audit_write_failed``) and counted (``kstock_audit_write_failures_total``).
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, TypeVar

import orjson
import structlog
from sqlalchemy import ColumnElement, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.requests import Request
from starlette.types import Scope

from kstock.gateway.metrics import AUDIT_WRITE_FAILURES
from kstock.gateway.models import AuditEvent
from kstock.gateway.state import state_of, state_of_app
from kstock.identity.principal import Principal
from kstock.kit.clients import client_ip
from kstock.kit.clock import utcnow

log = structlog.get_logger("kstock.audit")

HTTP_REQUEST_EVENT: Final = "http.request"
STATE_CHANGING_METHODS: Final = frozenset({"POST", "PUT", "PATCH", "DELETE"})
REDACTED: Final = "[REDACTED]"
# Matched anywhere in a key, case-insensitively: api_key, X-API-Key, refresh_token, new_password, client_secret...
SECRET_KEY_PATTERN: Final = re.compile(
    r"pass(word|wd|phrase)?|pwd|token|secret|key|authori[sz]ation|credential|cookie|session|signature|otp",
    re.IGNORECASE,
)
_PENDING: Final = "audit_pending"
_MAX_VALUE_CHARS: Final = 200
_MAX_SUMMARY_CHARS: Final = 4_000

AuditRow = dict[str, Any]


def redact(value: Any) -> Any:
    """``value`` with every mapping entry whose key looks secret replaced by ``[REDACTED]`` (recursively);
    long strings are cut so a summary stays small."""
    if isinstance(value, Mapping):
        return {
            str(key): REDACTED if SECRET_KEY_PATTERN.search(str(key)) else redact(item) for key, item in value.items()
        }
    if isinstance(value, list | tuple | set | frozenset):
        return [redact(item) for item in value]
    if isinstance(value, str) and len(value) > _MAX_VALUE_CHARS:
        return value[:_MAX_VALUE_CHARS] + "..."
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def summary_json(details: Mapping[str, Any] | None) -> str | None:
    """Redacted ``details`` as JSON, or None when there is nothing to say."""
    if not details:
        return None
    text = orjson.dumps(redact(details)).decode()
    return text if len(text) <= _MAX_SUMMARY_CHARS else text[:_MAX_SUMMARY_CHARS]


def query_summary(scope: Scope) -> dict[str, Any] | None:
    """The request's query parameters (repeated names as lists), for the summary; redacted later."""
    request = Request(scope)
    params = request.query_params
    if not params:
        return None
    query: dict[str, Any] = {}
    for name in params:
        values = params.getlist(name)
        query[name] = values[0] if len(values) == 1 else values
    return {"query": query}


def _actor(principal: Principal | None) -> dict[str, Any]:
    if principal is None:
        return {"actor_user_id": None, "actor_key_prefix": None}
    return {"actor_user_id": principal.user_id, "actor_key_prefix": principal.api_key_prefix}


def _state(scope: Scope) -> dict[str, Any]:
    state: dict[str, Any] = scope.setdefault("state", {})
    return state


def build_row(
    scope: Scope,
    event: str,
    *,
    principal: Principal | None,
    status: int | None,
    details: Mapping[str, Any] | None,
) -> AuditRow:
    """The column values of one audit row for the request in ``scope``."""
    state = _state(scope)
    who = principal if principal is not None else state.get("principal")
    return {
        "occurred_at": utcnow(),
        "event": event[:50],
        **_actor(who if isinstance(who, Principal) else None),
        "ip": client_ip(scope),
        "method": scope.get("method"),
        "path": str(scope.get("path", ""))[:500] or None,
        "status": status,
        "request_id": state.get("request_id"),
        "summary": summary_json(details),
    }


async def write_rows(sessionmaker: async_sessionmaker[AsyncSession], rows: list[AuditRow]) -> bool:
    """Insert ``rows`` in one transaction of their own; False (logged and counted) when that fails."""
    if not rows:
        return True
    try:
        async with sessionmaker() as session, session.begin():
            await session.execute(insert(AuditEvent), rows)
    except Exception as exc:  # any driver or pool error: the caller's request must not fail
        AUDIT_WRITE_FAILURES.inc(len(rows))
        log.error(
            "audit_write_failed",
            error=f"{type(exc).__name__}: {exc}",
            events=[row["event"] for row in rows],
            request_ids=sorted({str(row["request_id"]) for row in rows}),
        )
        return False
    return True


async def audit_event(
    request: Request,
    event: str,
    *,
    principal: Principal | None = None,
    status: int | None = None,
    details: Mapping[str, Any] | None = None,
) -> None:
    """Record ``event`` (e.g. ``auth.login_failed``) for this request; ``details`` are redacted and stored as JSON.

    Never raises. Inside a request served through the gateway middleware the row is written once the response
    is sent (in its own transaction); elsewhere it is written at once.
    """
    try:
        row = build_row(request.scope, event, principal=principal, status=status, details=details)
        pending = _state(request.scope).get(_PENDING)
        if isinstance(pending, list):
            pending.append(row)
            return
        await write_rows(state_of(request).sessionmaker, [row])
    except Exception as exc:  # never let auditing break the caller
        AUDIT_WRITE_FAILURES.inc()
        log.error("audit_write_failed", error=f"{type(exc).__name__}: {exc}", events=[event])


def begin_request(scope: Scope) -> list[AuditRow]:
    """Start collecting the rows :func:`audit_event` reports during this HTTP request; the list they go to."""
    pending: list[AuditRow] = []
    _state(scope)[_PENDING] = pending
    return pending


async def end_request(scope: Scope, pending: list[AuditRow], status: int) -> None:
    """Once the response has gone out: record the request itself when it changed state (POST, PUT, PATCH, DELETE)
    with the status it was answered with, and write it with the rows collected during the request. Never raises
    an error of its own."""
    _state(scope).pop(_PENDING, None)
    try:
        if _changes_state(scope):
            pending.append(
                build_row(scope, HTTP_REQUEST_EVENT, principal=None, status=status, details=query_summary(scope))
            )
        if pending:
            await write_rows(state_of_app(scope["app"]).sessionmaker, pending)
    except Exception as exc:  # e.g. no sessionmaker: the app's lifespan never ran
        AUDIT_WRITE_FAILURES.inc(max(len(pending), 1))
        log.error("audit_write_failed", error=f"{type(exc).__name__}: {exc}", events=[r["event"] for r in pending])


F = TypeVar("F", bound=Callable[..., Any])
_READ_ONLY: set[Callable[..., Any]] = set()


def read_only(endpoint: F) -> F:
    """Decorator (under the route decorator) for a POST that changes nothing, a query with a body such as a
    screen: it is not recorded as a state-changing request."""
    _READ_ONLY.add(endpoint)
    return endpoint


def _changes_state(scope: Scope) -> bool:
    if scope["method"] not in STATE_CHANGING_METHODS:
        return False
    endpoint = getattr(scope.get("route"), "endpoint", None)
    return endpoint not in _READ_ONLY


@dataclass(frozen=True, slots=True)
class AuditFilter:
    """What an admin asks the audit log for; every field optional."""

    actor: str | None = None  # a user id, or an API-key prefix
    event: str | None = None  # exact, or a prefix ending in "*" ("auth.*")
    occurred_from: dt.datetime | None = None
    occurred_to: dt.datetime | None = None

    def conditions(self) -> list[ColumnElement[bool]]:
        conditions: list[ColumnElement[bool]] = []
        if self.actor:
            try:
                conditions.append(AuditEvent.actor_user_id == uuid.UUID(self.actor))
            except ValueError:
                conditions.append(AuditEvent.actor_key_prefix == self.actor)
        if self.event:
            if self.event.endswith("*"):
                conditions.append(AuditEvent.event.startswith(self.event[:-1], autoescape=True))
            else:
                conditions.append(AuditEvent.event == self.event)
        if self.occurred_from is not None:
            conditions.append(AuditEvent.occurred_at >= self.occurred_from)
        if self.occurred_to is not None:
            conditions.append(AuditEvent.occurred_at <= self.occurred_to)
        return conditions


async def search_events(
    session: AsyncSession, where: AuditFilter, offset: int, limit: int
) -> tuple[Sequence[AuditEvent], int]:
    """One page of matching events, newest first, and the number of all matching events."""
    conditions = where.conditions()
    total = await session.scalar(select(func.count()).select_from(AuditEvent).where(*conditions))
    rows = await session.scalars(
        select(AuditEvent)
        .where(*conditions)
        .order_by(AuditEvent.occurred_at.desc(), AuditEvent.id.desc())
        .offset(offset)
        .limit(limit)
    )
    return rows.all(), int(total or 0)
