"""Forged and flawed access tokens, and malformed Authorization headers: all 401, none ever accepted."""

from __future__ import annotations

import time
import uuid
from typing import Any

import jwt
import pytest
import pytest_asyncio

from tests.support.accounts import Account, bearer, make_account
from tests.support.app import Live, assert_error


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def yuna(live: Live) -> Account:
    return await make_account(live, "yuna@example.kr")


def _claims(live: Live, user_id: uuid.UUID, **changes: Any) -> dict[str, Any]:
    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": str(user_id),
        "iat": now,
        "exp": now + 600,
        "iss": live.settings.jwt_issuer,
        "aud": live.settings.jwt_audience,
        "jti": uuid.uuid4().hex,
        "typ": "access",
    }
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


def _sign(live: Live, claims: dict[str, Any], algorithm: str = "HS256", key: str | None = None) -> str:
    return jwt.encode(claims, key or live.settings.secret_key.get_secret_value(), algorithm=algorithm)


async def test_a_well_formed_token_built_here_is_accepted(live: Live, yuna: Account) -> None:
    """The control for every forgery below: only the flaw each one adds makes it fail."""
    response = await live.http.get("/v1/users/me", headers=bearer(_sign(live, _claims(live, yuna.id))))
    assert response.status_code == 200
    assert response.json()["email"] == yuna.email


LEEWAY_S = 10  # Settings.jwt_leeway_s default


@pytest.mark.parametrize(
    ("case", "changes"),
    [
        ("wrong audience", {"aud": "someone-else"}),
        ("wrong issuer", {"iss": "evil"}),
        ("expired", {"iat": int(time.time()) - 3600, "exp": int(time.time()) - 60}),
        ("issued in the future", {"iat": "in the future"}),  # made when the test runs, not when collected
        ("not an access token", {"typ": "refresh"}),
        ("no jti", {"jti": None}),
        ("no exp", {"exp": None}),
        ("no typ", {"typ": None}),
        ("subject not a user id", {"sub": "admin"}),
        ("session not an id", {"sid": "everything"}),
    ],
)
async def test_flawed_claims_are_refused(live: Live, yuna: Account, case: str, changes: dict[str, Any]) -> None:
    if changes.get("iat") == "in the future":
        changes = {**changes, "iat": int(time.time()) + LEEWAY_S + 120}
    token = _sign(live, _claims(live, yuna.id, **changes))
    body = assert_error(await live.http.get("/v1/users/me", headers=bearer(token)), 401, "UNAUTHORIZED")
    assert body["details"]["token"] in {
        "invalid",
        "expired",
        "wrong type",
        "issued in the future",
        "invalid subject or session",
    }


async def test_unsigned_token_is_refused(live: Live, yuna: Account) -> None:
    token = jwt.encode(_claims(live, yuna.id), None, algorithm="none")
    assert_error(await live.http.get("/v1/users/me", headers=bearer(token)), 401, "UNAUTHORIZED")


@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
@pytest.mark.parametrize(("algorithm", "key"), [("HS256", "another-secret-of-sufficient-length!!"), ("HS512", None)])
async def test_wrong_signature_or_algorithm_is_refused(
    live: Live, yuna: Account, algorithm: str, key: str | None
) -> None:
    token = _sign(live, _claims(live, yuna.id), algorithm, key)
    assert_error(await live.http.get("/v1/users/me", headers=bearer(token)), 401, "UNAUTHORIZED")


async def test_token_of_an_unknown_user_is_refused(live: Live) -> None:
    token = _sign(live, _claims(live, uuid.uuid4()))
    body = assert_error(await live.http.get("/v1/users/me", headers=bearer(token)), 401, "UNAUTHORIZED")
    assert body["details"] == {"authorization": "inactive"}


@pytest.mark.parametrize(
    "authorization",
    ["Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "Token abc", "bearer not.a.jwt", "Bearer a b c", "eyJhbGciOi"],
)
async def test_malformed_authorization_headers(live: Live, authorization: str) -> None:
    response = await live.http.get("/v1/users/me", headers={"Authorization": authorization})
    assert_error(response, 401, "UNAUTHORIZED")


async def test_bearer_and_api_key_together_are_ambiguous(live: Live, yuna: Account) -> None:
    response = await live.http.get("/v1/users/me", headers={**yuna.headers, "X-API-Key": "ks_x_y"})
    assert assert_error(response, 401, "UNAUTHORIZED")["details"] == {"authorization": "ambiguous"}


async def test_a_bad_token_is_refused_even_where_no_sign_in_is_needed(live: Live) -> None:
    """Credentials that are sent are checked: a client learns its token is bad instead of silently going anonymous."""
    response = await live.http.get("/v1/stocks/005930/financials?years=3", headers=bearer("garbage"))
    assert_error(response, 401, "UNAUTHORIZED")
