"""Refresh-token rotation, reuse detection, expiry, and logout across instances."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
import pytest_asyncio

from kstock.identity.models import RefreshToken
from kstock.identity.security import secret_digest
from tests.support.accounts import Account, bearer, login, make_account
from tests.support.app import Live, assert_error, running

EMAIL = "minjun@example.kr"


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def minjun(live: Live) -> Account:
    return await make_account(live, EMAIL)


async def _refresh(live: Live, token: str) -> dict[str, object]:
    response = await live.http.post("/v1/auth/refresh", json={"refresh_token": token})
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


async def test_every_refresh_rotates_the_token(live: Live, minjun: Account) -> None:
    session = await login(live, EMAIL)
    first = await _refresh(live, session.refresh_token)
    assert set(first) == {"access_token", "refresh_token", "token_type", "expires_in"}
    assert first["token_type"] == "bearer"
    assert first["refresh_token"] != session.refresh_token
    assert first["access_token"] != session.access_token
    second = await _refresh(live, str(first["refresh_token"]))
    me = await live.http.get("/v1/users/me", headers=bearer(str(second["access_token"])))
    assert me.json()["email"] == EMAIL


async def test_reusing_a_refresh_token_ends_the_whole_session(live: Live, minjun: Account) -> None:
    session = await login(live, EMAIL)
    stolen = session.refresh_token
    newest = str((await _refresh(live, stolen))["refresh_token"])

    body = assert_error(await live.http.post("/v1/auth/refresh", json={"refresh_token": stolen}), 401, "UNAUTHORIZED")
    assert body["details"] == {"refresh_token": "reused"}
    # The legitimate holder's newest token is dead too: the thief cannot outlast the owner.
    again = assert_error(await live.http.post("/v1/auth/refresh", json={"refresh_token": newest}), 401, "UNAUTHORIZED")
    assert again["details"] == {"refresh_token": "revoked"}
    event = (await live.audit_events("auth.refresh_reuse_detected"))[-1]
    assert event.status == 401
    assert event.summary is not None
    assert str(minjun.id) in event.summary
    assert stolen not in event.summary
    # Other sessions of the same user go on.
    assert (await live.http.post("/v1/auth/refresh", json={"refresh_token": minjun.refresh_token})).status_code == 200


async def test_refresh_token_reuse_ends_the_access_tokens_of_the_session(live: Live, minjun: Account) -> None:
    session = await login(live, EMAIL)
    rotated = await _refresh(live, session.refresh_token)
    assert (await live.http.get("/v1/users/me", headers=bearer(str(rotated["access_token"])))).status_code == 200
    assert_error(
        await live.http.post("/v1/auth/refresh", json={"refresh_token": session.refresh_token}), 401, "UNAUTHORIZED"
    )
    for token in (session.access_token, str(rotated["access_token"])):
        refused = assert_error(await live.http.get("/v1/users/me", headers=bearer(token)), 401, "UNAUTHORIZED")
        assert refused["details"] == {"authorization": "revoked"}
    assert (await live.http.get("/v1/users/me", headers=minjun.headers)).status_code == 200


async def test_concurrent_use_of_one_refresh_token_lets_one_win(live: Live, minjun: Account) -> None:
    session = await login(live, EMAIL)
    responses = await asyncio.gather(
        *(live.http.post("/v1/auth/refresh", json={"refresh_token": session.refresh_token}) for _ in range(2))
    )
    assert sorted(r.status_code for r in responses) == [200, 401]
    [winner] = [r.json() for r in responses if r.status_code == 200]
    # The loser was a reuse: the winner's token belongs to a revoked family now.
    late = await live.http.post("/v1/auth/refresh", json={"refresh_token": winner["refresh_token"]})
    assert_error(late, 401, "UNAUTHORIZED")


@pytest.mark.parametrize("token", ["not-a-token", "x" * 200])
async def test_unknown_refresh_token(live: Live, token: str) -> None:
    body = assert_error(await live.http.post("/v1/auth/refresh", json={"refresh_token": token}), 401, "UNAUTHORIZED")
    assert body["details"] == {"refresh_token": "invalid"}


async def test_expired_refresh_token(live: Live, minjun: Account) -> None:
    session = await login(live, EMAIL)
    past = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    await live.update(RefreshToken, RefreshToken.token_hash == secret_digest(session.refresh_token), expires_at=past)
    body = assert_error(
        await live.http.post("/v1/auth/refresh", json={"refresh_token": session.refresh_token}), 401, "UNAUTHORIZED"
    )
    assert body["details"] == {"refresh_token": "expired"}


async def test_logout_ends_the_access_token_and_the_session(live: Live, minjun: Account) -> None:
    session = await login(live, EMAIL)
    assert (await live.http.get("/v1/users/me", headers=session.headers)).status_code == 200
    response = await live.http.post("/v1/auth/logout", headers=session.headers)
    assert response.status_code == 204
    assert response.content == b""

    refused = assert_error(await live.http.get("/v1/users/me", headers=session.headers), 401, "UNAUTHORIZED")
    assert refused["details"] == {"authorization": "revoked"}
    assert_error(
        await live.http.post("/v1/auth/refresh", json={"refresh_token": session.refresh_token}), 401, "UNAUTHORIZED"
    )
    # Only that session: the account's other sign-ins are untouched.
    assert (await live.http.get("/v1/users/me", headers=minjun.headers)).status_code == 200
    assert [e.status for e in await live.audit_events("auth.logout")] == [204]


async def test_logout_is_seen_by_another_instance(live: Live, minjun: Account) -> None:
    session = await login(live, EMAIL)
    async with running(live.settings) as other:
        assert (await other.http.get("/v1/users/me", headers=session.headers)).status_code == 200
        assert (await live.http.post("/v1/auth/logout", headers=session.headers)).status_code == 204
        # The refresh-token family is revoked in the shared database: every instance refuses it.
        refresh = await other.http.post("/v1/auth/refresh", json={"refresh_token": session.refresh_token})
        assert_error(refresh, 401, "UNAUTHORIZED")
        me = await other.http.get("/v1/users/me", headers=session.headers)
        if live.settings.redis_url:
            # Access-token revocations are shared through Redis.
            assert_error(me, 401, "UNAUTHORIZED")
        else:
            # In-process revocations stay in the process (a single-instance deployment): documented.
            assert me.status_code == 200


async def test_logout_needs_a_bearer_token(live: Live) -> None:
    assert_error(await live.http.post("/v1/auth/logout"), 401, "UNAUTHORIZED")
