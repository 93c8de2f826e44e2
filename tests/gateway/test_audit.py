"""The audit log: state-changing requests, events reported by services, redaction, the admin listing."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import orjson
import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.requests import Request

from kstock.db import migrate
from kstock.db.engine import create_engine, create_sessionmaker
from kstock.gateway import audit
from kstock.gateway.audit import REDACTED, audit_event, redact, write_rows
from kstock.gateway.models import AuditEvent
from kstock.identity.principal import Role, Tier
from tests.gateway.helpers import engine_url, gateway_settings, metric, running_app
from tests.support.accounts import make_api_key, make_user
from tests.support.app import http_client
from tests.support.databases import DatabaseFactory
from tests.support.logs import LogRecorder


async def audit_rows(engine: AsyncEngine) -> list[AuditEvent]:
    async with create_sessionmaker(engine)() as session:
        return list((await session.scalars(select(AuditEvent).order_by(AuditEvent.id))).all())


def as_text(row: AuditEvent) -> str:
    return " ".join(str(getattr(row, column.key)) for column in AuditEvent.__table__.columns)


async def test_a_state_changing_request_is_recorded_with_secrets_redacted(
    db_factory: DatabaseFactory, clean_engine: AsyncEngine
) -> None:
    settings = gateway_settings(db_factory, engine_url(clean_engine))
    async with running_app(settings) as app, http_client(app, "192.0.2.44") as http:
        account = await make_user(settings, clean_engine)
        response = await http.post(
            "/v1/test/secret",
            params={"password": "hunter2", "api_key": "ks_live_1", "accessToken": "tok", "symbol": "005930"},
            json={"password": "hunter2", "note": "body is never stored"},
            headers=account.bearer,
        )
        await http.get("/v1/test/echo", headers=account.bearer)  # reads are not audited

    assert response.status_code == 200
    [row] = await audit_rows(clean_engine)
    assert row.event == "http.request"
    assert row.actor_user_id == account.user_id
    assert row.actor_key_prefix is None
    assert row.ip == "192.0.2.44"
    assert (row.method, row.path, row.status) == ("POST", "/v1/test/secret", 200)
    assert row.request_id == response.headers["x-request-id"]
    assert row.summary is not None
    assert orjson.loads(row.summary) == {
        "query": {"password": REDACTED, "api_key": REDACTED, "accessToken": REDACTED, "symbol": "005930"}
    }
    assert "hunter2" not in as_text(row)
    assert "body is never stored" not in as_text(row)
    age = dt.datetime.now(dt.UTC) - row.occurred_at.replace(tzinfo=row.occurred_at.tzinfo or dt.UTC)
    assert dt.timedelta(0) <= age < dt.timedelta(seconds=30)


async def test_the_actor_of_an_api_key_request_is_the_key_prefix(
    db_factory: DatabaseFactory, clean_engine: AsyncEngine
) -> None:
    settings = gateway_settings(db_factory, engine_url(clean_engine))
    async with running_app(settings) as app, http_client(app) as http:
        account = await make_user(settings, clean_engine)
        raw_key, prefix = await make_api_key(clean_engine, account.user_id)
        await http.post("/v1/test/secret", headers={"X-API-Key": raw_key})

    [row] = await audit_rows(clean_engine)
    assert (row.actor_user_id, row.actor_key_prefix) == (account.user_id, prefix)
    assert raw_key not in as_text(row)


async def test_the_audit_row_survives_the_requests_rollback(
    db_factory: DatabaseFactory, clean_engine: AsyncEngine
) -> None:
    settings = gateway_settings(db_factory, engine_url(clean_engine))
    async with running_app(settings) as app, http_client(app) as http:
        response = await http.post("/v1/test/conflict")

    assert response.status_code == 409
    [row] = await audit_rows(clean_engine)  # the row the endpoint wrote was rolled back
    assert (row.event, row.status, row.actor_user_id) == ("http.request", 409, None)


async def test_service_events_are_kept_and_redacted(db_factory: DatabaseFactory, clean_engine: AsyncEngine) -> None:
    settings = gateway_settings(db_factory, engine_url(clean_engine))
    async with running_app(settings) as app, http_client(app) as http:
        response = await http.post("/v1/test/login-failed")

    assert response.status_code == 401
    rows = await audit_rows(clean_engine)
    assert [(row.event, row.status) for row in rows] == [("auth.login_failed", 401), ("http.request", 401)]
    assert rows[0].summary is not None
    assert orjson.loads(rows[0].summary) == {
        "email": "who@example.com",
        "password": REDACTED,
        "nested": {"refresh_token": REDACTED},
    }
    assert rows[0].request_id == rows[1].request_id == response.headers["x-request-id"]


async def test_audit_event_outside_a_request_writes_at_once(
    db_factory: DatabaseFactory, clean_engine: AsyncEngine
) -> None:
    settings = gateway_settings(db_factory, engine_url(clean_engine))
    async with running_app(settings) as app:
        account = await make_user(settings, clean_engine, Tier.PRO)
        request = Request({"type": "http", "method": "POST", "path": "/cli", "headers": [], "app": app})
        from kstock.identity.principal import ALL_SCOPES, Principal

        principal = Principal(account.user_id, "x@example.com", Tier.PRO, Role.USER, ALL_SCOPES)
        await audit_event(request, "user.tier_changed", principal=principal, details={"tier": "pro"})

    [row] = await audit_rows(clean_engine)
    assert (row.event, row.actor_user_id, row.summary) == ("user.tier_changed", account.user_id, '{"tier":"pro"}')


def test_redaction_by_key_name() -> None:
    assert redact(
        {
            "Password": "a",
            "new_password": "b",
            "client_secret": "c",
            "X-API-Key": "d",
            "Authorization": "e",
            "refresh_token": "f",
            "items": [{"token": "g", "code": "005930"}],
            "email": "h@example.com",
        }
    ) == {
        "Password": REDACTED,
        "new_password": REDACTED,
        "client_secret": REDACTED,
        "X-API-Key": REDACTED,
        "Authorization": REDACTED,
        "refresh_token": REDACTED,
        "items": [{"token": REDACTED, "code": "005930"}],
        "email": "h@example.com",
    }


async def test_a_failing_audit_write_is_logged_and_counted_and_the_request_succeeds(
    db_factory: DatabaseFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    recorder = LogRecorder()
    monkeypatch.setattr(audit, "log", recorder)
    url = await db_factory.url("audit_broken")
    engine = create_engine(gateway_settings(db_factory, url))
    await migrate.upgrade(engine)
    async with engine.begin() as connection:
        await connection.execute(text("DROP TABLE audit_events"))
    await engine.dispose()
    settings = gateway_settings(db_factory, url)
    failures = metric("kstock_audit_write_failures_total")
    async with running_app(settings) as app, http_client(app) as http:
        response = await http.post("/v1/test/secret", params={"password": "hunter2"})
        await audit_event(
            Request({"type": "http", "method": "POST", "path": "/x", "headers": [], "app": app}), "direct.event"
        )

    assert response.status_code == 200
    assert response.json() == {"ok": True}
    assert metric("kstock_audit_write_failures_total") == failures + 2
    assert recorder.events("error") == ["audit_write_failed", "audit_write_failed"]
    _, _, fields = recorder.records[0]
    assert fields["events"] == ["http.request"]
    assert fields["request_ids"] == [response.headers["x-request-id"]]
    assert "hunter2" not in str(recorder.records)


# ---- GET /v1/admin/audit ---------------------------------------------------------------------------------------

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


def event_row(minutes: int, event: str, user_id: uuid.UUID | None = None, prefix: str | None = None) -> dict[str, Any]:
    return {
        "occurred_at": T0 + dt.timedelta(minutes=minutes),
        "event": event,
        "actor_user_id": user_id,
        "actor_key_prefix": prefix,
        "ip": "192.0.2.1",
        "method": "POST",
        "path": "/v1/x",
        "status": 200,
        "request_id": f"req-{minutes:04d}",
        "summary": '{"query":{"password":"[REDACTED]"}}',
    }


async def test_admin_lists_events_newest_first_with_filters_and_pages(
    db_factory: DatabaseFactory, clean_engine: AsyncEngine
) -> None:
    settings = gateway_settings(db_factory, engine_url(clean_engine))
    alice, bob = uuid.uuid4(), uuid.uuid4()
    rows = [
        event_row(0, "auth.login", alice),
        event_row(1, "http.request", alice),
        event_row(2, "auth.login_failed"),
        event_row(3, "http.request", bob, "ks_bobkey01"),
        event_row(4, "auth.logout", alice),
    ]
    assert await write_rows(create_sessionmaker(clean_engine), rows)
    async with running_app(settings) as app, http_client(app) as http:
        admin = await make_user(settings, clean_engine, Tier.PRO, Role.ADMIN)

        async def ids(**params: Any) -> list[str]:
            response = await http.get("/v1/admin/audit", params=params, headers=admin.bearer)
            assert response.status_code == 200, response.text
            return [event["request_id"] for event in response.json()["events"]]

        first = await http.get("/v1/admin/audit", params={"per_page": 2}, headers=admin.bearer)
        second = await ids(per_page=2, page=2)
        by_alice = await ids(actor=str(alice))
        by_key = await ids(actor="ks_bobkey01")
        exact = await ids(event="http.request")
        auth = await ids(event="auth.*")
        window = await ids(**{"from": "2026-03-02T09:01:00Z", "to": "2026-03-02T18:03:00+09:00"})
        naive_from = await ids(**{"from": "2026-03-02T09:04:00"})

    assert first.status_code == 200
    body = first.json()
    assert body["meta"] == {"page": 1, "per_page": 2, "total": 5, "pages": 3}
    assert [event["request_id"] for event in body["events"]] == ["req-0004", "req-0003"]
    newest = body["events"][0]
    assert newest == {
        "id": newest["id"],
        "occurred_at": "2026-03-02T09:04:00.000Z",
        "event": "auth.logout",
        "actor_user_id": str(alice),
        "actor_key_prefix": None,
        "ip": "192.0.2.1",
        "method": "POST",
        "path": "/v1/x",
        "status": 200,
        "request_id": "req-0004",
        "summary": {"query": {"password": "[REDACTED]"}},
    }
    assert second == ["req-0002", "req-0001"]
    assert by_alice == ["req-0004", "req-0001", "req-0000"]
    assert by_key == ["req-0003"]
    assert exact == ["req-0003", "req-0001"]
    assert auth == ["req-0004", "req-0002", "req-0000"]
    assert window == ["req-0003", "req-0002", "req-0001"]
    assert naive_from == ["req-0004"]


async def test_only_admins_read_the_audit_log(db_factory: DatabaseFactory, clean_engine: AsyncEngine) -> None:
    settings = gateway_settings(db_factory, engine_url(clean_engine))
    async with running_app(settings) as app, http_client(app) as http:
        user = await make_user(settings, clean_engine, Tier.PRO)
        admin = await make_user(settings, clean_engine, Tier.FREE, Role.ADMIN)
        anonymous = await http.get("/v1/admin/audit")
        not_admin = await http.get("/v1/admin/audit", headers=user.bearer)
        backwards = await http.get(
            "/v1/admin/audit", params={"from": "2026-03-02", "to": "2026-03-01"}, headers=admin.bearer
        )

    assert anonymous.status_code == 401
    assert anonymous.json()["error"] == "UNAUTHORIZED"
    assert not_admin.status_code == 403
    assert not_admin.json()["error"] == "FORBIDDEN"
    assert backwards.status_code == 422
    assert backwards.json()["error"] == "INVALID_DATE_RANGE"
