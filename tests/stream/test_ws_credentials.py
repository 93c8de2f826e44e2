"""A connection lasts only as long as its credential: logout, refresh-token reuse, a password change, a disabled
account, a revoked or expired API key close it with 1008 within seconds, and a subscribe checks the credential
again. On the PostgreSQL pass the announcement goes through Redis."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from contextlib import AsyncExitStack
from typing import Any

import jwt
import orjson
import pytest_asyncio
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from kstock.identity.principal import Role
from kstock.identity.security import create_access_token
from tests.stream.helpers import Stream, codes_of, receive, request
from tests.support.accounts import Account, bearer, login, make_account
from tests.support.app import app_state, assert_error, hub_of, running, serving
from tests.support.databases import REDIS_URL, DatabaseFactory, stream_settings

WITHIN_S = 3.0


async def closed(ws: ClientConnection, wait_s: float = WITHIN_S) -> tuple[int | None, str]:
    """Read until the server closes the connection (within ``wait_s``); its close code and reason."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait_s
    try:
        while True:
            await receive(ws, max(0.01, deadline - loop.time()))
    except ConnectionClosed:
        pass
    return ws.close_code, ws.close_reason or ""


async def still_open(ws: ClientConnection) -> None:
    pong = await request(ws, {"type": "ping"}, "pong")
    assert pong["type"] == "pong"


async def new_key(stream: Stream, account: Account, **fields: Any) -> tuple[str, str]:
    response = await stream.live.http.post(
        "/v1/api-keys", json={"name": f"ws-{uuid.uuid4().hex[:6]}", **fields}, headers=account.headers
    )
    assert response.status_code == 201, response.text
    body = response.json()
    return body["id"], body["key"]


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def admin(stream: Stream) -> Account:
    return await make_account(stream.live, "admin@example.com", role=Role.ADMIN)


async def test_logout_closes_the_sessions_connections_only(stream: Stream) -> None:
    session = await login(stream.live, stream.free.email)
    ended_before = hub_of(stream.app).credentials_ended
    async with stream.connect(token=session.access_token) as ws, stream.connect(stream.free) as other:
        await still_open(ws)
        assert (await stream.live.http.post("/v1/auth/logout", headers=session.headers)).status_code == 204
        assert await closed(ws) == (1008, "session ended: logged out")
        await still_open(other)  # another session of the same user
    metrics = (await stream.live.http.get("/metrics")).text
    assert f"kstock_ws_credentials_ended_total {float(ended_before + 1)}" in metrics


async def test_a_new_connection_with_a_logged_out_token_is_refused(stream: Stream) -> None:
    session = await login(stream.live, stream.free.email)
    assert (await stream.live.http.post("/v1/auth/logout", headers=session.headers)).status_code == 204
    async with stream.connect(token=session.access_token) as ws:
        assert await closed(ws) == (1008, "Access token revoked")


async def test_refresh_token_reuse_ends_the_sessions_access_tokens_and_connections(stream: Stream) -> None:
    http = stream.live.http
    session = await login(stream.live, stream.free.email)
    rotated = await http.post("/v1/auth/refresh", json={"refresh_token": session.refresh_token})
    assert rotated.status_code == 200
    newest_access = rotated.json()["access_token"]
    async with stream.connect(token=newest_access) as ws:
        await still_open(ws)
        reused = await http.post("/v1/auth/refresh", json={"refresh_token": session.refresh_token})
        assert_error(reused, 401, "UNAUTHORIZED")
        assert await closed(ws) == (1008, "session ended: refresh token reused")
    # Both access tokens of the session are refused, not only its refresh tokens.
    for token in (session.access_token, newest_access):
        refused = assert_error(await http.get("/v1/users/me", headers=bearer(token)), 401, "UNAUTHORIZED")
        assert refused["details"] == {"authorization": "revoked"}
    assert (await http.get("/v1/users/me", headers=stream.free.headers)).status_code == 200


async def test_a_revoked_key_closes_its_connections(stream: Stream) -> None:
    key_id, key = await new_key(stream, stream.basic)
    _, other_key = await new_key(stream, stream.basic)
    async with stream.connect(token=key) as ws, stream.connect(token=other_key) as other:
        await still_open(ws)
        response = await stream.live.http.delete(f"/v1/api-keys/{key_id}", headers=stream.basic.headers)
        assert response.status_code == 204
        assert await closed(ws) == (1008, "API key revoked")
        await still_open(other)


async def test_an_expiring_key_closes_its_connection_when_it_expires(stream: Stream) -> None:
    expires = (dt.datetime.now(dt.UTC) + dt.timedelta(seconds=2)).isoformat().replace("+00:00", "Z")
    _, key = await new_key(stream, stream.basic, expires_at=expires)
    async with stream.connect(token=key) as ws:
        await still_open(ws)
        assert await closed(ws, 5.0) == (1008, "API key expired")


async def test_an_access_token_closes_its_connection_when_it_expires(stream: Stream) -> None:
    settings = stream.live.settings
    issued = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=settings.access_token_ttl_s - 2)
    token, _, _ = create_access_token(settings, stream.free.id, issued)
    async with stream.connect(token=token) as ws:
        await still_open(ws)
        assert await closed(ws, 5.0) == (1008, "access token expired")


async def test_a_password_change_closes_the_other_sessions(stream: Stream) -> None:
    http = stream.live.http
    account = await make_account(stream.live, "changes@example.com")
    other = await login(stream.live, account.email)
    _, key = await new_key(stream, account)
    async with (
        stream.connect(token=account.access_token) as own,
        stream.connect(token=other.access_token) as elsewhere,
    ):
        change = {"current_password": account.password, "new_password": "staple-orbit-lantern"}
        response = await http.patch("/v1/users/me", json=change, headers=account.headers)
        assert response.status_code == 200, response.text
        assert await closed(elsewhere) == (1008, "session ended: password changed")
        await still_open(own)  # the session that changed it goes on
    # Over HTTP too: the other session's access token is refused at once, not when it expires.
    refused = assert_error(await http.get("/v1/users/me", headers=other.headers), 401, "UNAUTHORIZED")
    assert refused["details"] == {"authorization": "revoked"}
    assert (await http.get("/v1/users/me", headers=account.headers)).status_code == 200
    async with stream.connect(token=key) as keyed:  # API keys are not sessions: they go on
        await still_open(keyed)


async def test_disabling_an_account_closes_all_its_connections(stream: Stream, admin: Account) -> None:
    http = stream.live.http
    account = await make_account(stream.live, "disabled@example.com")
    _, key = await new_key(stream, account)
    async with stream.connect(token=account.access_token) as ws, stream.connect(token=key) as keyed:
        await still_open(ws)
        await still_open(keyed)
        response = await http.patch(f"/v1/admin/users/{account.id}", json={"is_active": False}, headers=admin.headers)
        assert response.status_code == 200, response.text
        assert await closed(ws) == (1008, "account disabled")
        assert await closed(keyed) == (1008, "account disabled")
    # Enabling it again does not bring back the access tokens of before.
    response = await http.patch(f"/v1/admin/users/{account.id}", json={"is_active": True}, headers=admin.headers)
    assert response.status_code == 200
    assert_error(await http.get("/v1/users/me", headers=account.headers), 401, "UNAUTHORIZED")


async def test_a_subscribe_checks_the_credential_again(stream: Stream) -> None:
    """A revocation whose announcement never arrived (a broker outage) is caught by the next subscribe."""
    session = await login(stream.live, stream.free.email)
    claims = jwt.decode(session.access_token, options={"verify_signature": False})
    code = codes_of(stream)[0]
    async with stream.connect(token=session.access_token) as ws:
        await request(ws, {"type": "subscribe", "stock_code": code}, "subscribed")
        await app_state(stream.app).revocations.revoke_sessions([uuid.UUID(claims["sid"])], claims["exp"])
        await still_open(ws)  # pings do not check
        await ws.send(orjson.dumps({"type": "subscribe", "stock_code": codes_of(stream)[1]}).decode())
        assert await closed(ws) == (1008, "Access token revoked")


async def test_a_revocation_on_one_instance_closes_connections_on_another(db_factory: DatabaseFactory) -> None:
    prefix = f"kstock-test:{uuid.uuid4().hex[:8]}:"
    settings = await stream_settings(db_factory, "stream_revocations", redis_url=REDIS_URL, redis_prefix=prefix)
    async with AsyncExitStack() as stack:
        first = await stack.enter_async_context(running(settings))
        second = await stack.enter_async_context(running(settings))
        url = await stack.enter_async_context(serving(second.app))
        account = await make_account(first, "roams@example.com")
        created = await first.http.post("/v1/api-keys", json={"name": "k"}, headers=account.headers)
        key_id, key = created.json()["id"], created.json()["key"]
        by_token = await stack.enter_async_context(connect(f"{url}/ws/stocks?token={account.access_token}"))
        by_key = await stack.enter_async_context(connect(f"{url}/ws/stocks?token={key}"))
        await still_open(by_token)
        await still_open(by_key)
        assert (await first.http.delete(f"/v1/api-keys/{key_id}", headers=account.headers)).status_code == 204
        assert await closed(by_key) == (1008, "API key revoked")
        await still_open(by_token)
        assert (await first.http.post("/v1/auth/logout", headers=account.headers)).status_code == 204
        assert await closed(by_token) == (1008, "session ended: logged out")
        # The other instance refuses the key at once too (its cached record was dropped by the announcement).
        refused = await second.http.get("/v1/users/me", headers={"X-API-Key": key})
        assert_error(refused, 401, "UNAUTHORIZED")
