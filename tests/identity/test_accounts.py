"""Registration, sign-in, the caller's account, and what a client may not set on itself."""

from __future__ import annotations

import pytest
import pytest_asyncio

from kstock.identity.models import User
from kstock.identity.principal import Role, Tier
from tests.support.accounts import PASSWORD, Account, bearer, login, make_account
from tests.support.app import Live, assert_error


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def registered(live: Live) -> dict[str, object]:
    """One account registered over HTTP with a mixed-case, padded address."""
    response = await live.http.post(
        "/v1/auth/register", json={"email": "  Ji.Woo@Example.KR ", "password": PASSWORD, "name": " 김지우 "}
    )
    assert response.status_code == 201, response.text
    body: dict[str, object] = response.json()
    return body


async def test_register_signs_the_new_free_account_in(live: Live, registered: dict[str, object]) -> None:
    assert set(registered) == {"access_token", "refresh_token", "token_type", "expires_in", "user"}
    assert registered["token_type"] == "bearer"
    assert registered["expires_in"] == live.settings.access_token_ttl_s
    user = registered["user"]
    assert isinstance(user, dict)
    assert user["email"] == "ji.woo@example.kr"
    assert user["name"] == "김지우"
    assert (user["tier"], user["role"], user["is_active"]) == ("free", "user", True)

    me = await live.http.get("/v1/users/me", headers=bearer(str(registered["access_token"])))
    assert me.status_code == 200
    assert me.json() == user
    [event] = await live.audit_events("auth.register")
    assert str(event.actor_user_id) == user["id"]


@pytest.mark.parametrize("email", ["ji.woo@example.kr", "JI.WOO@EXAMPLE.KR", " ji.WOO@example.kr"])
async def test_an_address_is_taken_whatever_its_case(live: Live, registered: dict[str, object], email: str) -> None:
    response = await live.http.post("/v1/auth/register", json={"email": email, "password": PASSWORD, "name": "x"})
    body = assert_error(response, 409, "EMAIL_EXISTS")
    assert body["details"] == {"email": "ji.woo@example.kr"}


async def test_sign_in_with_any_case_of_the_address(live: Live, registered: dict[str, object]) -> None:
    account = await login(live, "JI.WOO@example.kr")
    assert (await live.http.get("/v1/users/me", headers=account.headers)).json()["email"] == "ji.woo@example.kr"
    assert len(await live.audit_events("auth.login")) >= 1


@pytest.mark.parametrize(
    ("password", "problems"),
    [
        ("short1!", ["must have at least 10 characters"]),
        ("1234567890", ["is too common"]),
        ("QwertyUIOP", ["is too common"]),
        ("my-minseo.park-pw", ["must not contain the e-mail address's local part"]),
        ("MINSEO.PARK", ["must not contain the e-mail address's local part"]),
        ("qwerty", ["must have at least 10 characters", "is too common"]),
    ],
)
async def test_the_password_policy_lists_every_problem(live: Live, password: str, problems: list[str]) -> None:
    response = await live.http.post(
        "/v1/auth/register", json={"email": "minseo.park@example.kr", "password": password, "name": "박민서"}
    )
    body = assert_error(response, 400, "VALIDATION_ERROR")
    assert body["details"] == {"password": problems}


async def test_every_bad_field_of_a_registration_is_reported_at_once(live: Live) -> None:
    response = await live.http.post(
        "/v1/auth/register", json={"email": "not-an-email", "password": "qwerty", "name": "", "tier": "pro"}
    )
    details = assert_error(response, 400, "VALIDATION_ERROR")["details"]
    assert set(details) == {"email", "password", "name", "tier"}
    assert details["password"] == ["must have at least 10 characters", "is too common"]
    assert details["name"] == ["must have at least 1 characters"]
    assert details["tier"] == ["is not a known field"]
    # With a valid address the local-part rule joins in.
    response = await live.http.post(
        "/v1/auth/register", json={"email": "minseo.park@example.kr", "password": "minseo.park", "name": ""}
    )
    assert assert_error(response, 400, "VALIDATION_ERROR")["details"] == {
        "password": ["must not contain the e-mail address's local part"],
        "name": ["must have at least 1 characters"],
    }


async def test_a_new_password_is_checked_with_the_other_fields(live: Live) -> None:
    account = await make_account(live, "dohyun@example.kr")
    body = {"name": "", "new_password": "short", "current_password": PASSWORD}
    response = await live.http.patch("/v1/users/me", json=body, headers=account.headers)
    assert assert_error(response, 400, "VALIDATION_ERROR")["details"] == {
        "name": ["must have at least 1 characters"],
        "new_password": ["must have at least 10 characters"],
    }


@pytest.mark.parametrize("email", ["not-an-email", "a@b", "two@@example.kr", ""])
async def test_register_refuses_an_invalid_address(live: Live, email: str) -> None:
    response = await live.http.post("/v1/auth/register", json={"email": email, "password": PASSWORD, "name": "x"})
    assert "email" in assert_error(response, 400, "VALIDATION_ERROR")["details"]


@pytest.mark.parametrize(("field", "value"), [("tier", "pro"), ("role", "admin"), ("id", "x"), ("is_active", True)])
async def test_register_cannot_choose_tier_role_id_or_status(live: Live, field: str, value: object) -> None:
    body = {"email": f"mass-{field}@example.kr", "password": PASSWORD, "name": "x", field: value}
    response = await live.http.post("/v1/auth/register", json=body)
    assert assert_error(response, 400, "VALIDATION_ERROR")["details"] == {field: ["is not a known field"]}
    # Nothing was created.
    assert (
        await live.http.post("/v1/auth/login", json={"email": body["email"], "password": PASSWORD})
    ).status_code == 401


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def seoyeon(live: Live) -> Account:
    return await make_account(live, "seoyeon@example.kr")


async def test_login_failures_look_the_same_whether_the_account_exists_or_not(live: Live, seoyeon: Account) -> None:
    wrong = await live.http.post("/v1/auth/login", json={"email": seoyeon.email, "password": "wrong-password-1"})
    unknown = await live.http.post("/v1/auth/login", json={"email": "nobody@example.kr", "password": PASSWORD})
    wrong_body = assert_error(wrong, 401, "INVALID_CREDENTIALS")
    unknown_body = assert_error(unknown, 401, "INVALID_CREDENTIALS")
    assert (wrong_body["message"], wrong_body["details"]) == (unknown_body["message"], unknown_body["details"])
    failures = await live.audit_events("auth.login_failed")
    assert {e.summary for e in failures} >= {
        '{"email":"seoyeon@example.kr","reason":"wrong password"}',
        '{"email":"nobody@example.kr","reason":"unknown email"}',
    }


async def test_a_disabled_account_cannot_sign_in(live: Live) -> None:
    account = await make_account(live, "disabled@example.kr")
    await live.update(User, User.id == account.id, is_active=False)
    response = await live.http.post("/v1/auth/login", json={"email": account.email, "password": PASSWORD})
    assert_error(response, 401, "INVALID_CREDENTIALS")


async def test_me_needs_credentials(live: Live) -> None:
    body = assert_error(await live.http.get("/v1/users/me"), 401, "UNAUTHORIZED")
    assert body["details"] == {"authorization": "missing"}


async def test_rename(live: Live, seoyeon: Account) -> None:
    response = await live.http.patch("/v1/users/me", json={"name": "  이서연  "}, headers=seoyeon.headers)
    assert response.status_code == 200, response.text
    assert response.json()["name"] == "이서연"
    assert (await live.http.get("/v1/users/me", headers=seoyeon.headers)).json()["name"] == "이서연"


@pytest.mark.parametrize(
    ("field", "value"), [("tier", "pro"), ("role", "admin"), ("id", "x"), ("is_active", False), ("email", "a@b.kr")]
)
async def test_users_cannot_raise_their_own_tier_or_role(
    live: Live, seoyeon: Account, field: str, value: object
) -> None:
    response = await live.http.patch("/v1/users/me", json={"name": "Hacker", field: value}, headers=seoyeon.headers)
    assert assert_error(response, 400, "VALIDATION_ERROR")["details"] == {field: ["is not a known field"]}
    me = (await live.http.get("/v1/users/me", headers=seoyeon.headers)).json()
    assert (me["tier"], me["role"], me["is_active"], me["name"]) == ("free", "user", True, "이서연")


async def test_a_password_change_needs_the_current_password(live: Live, seoyeon: Account) -> None:
    only_new = await live.http.patch(
        "/v1/users/me", json={"new_password": "staple-orbit-lantern"}, headers=seoyeon.headers
    )
    assert assert_error(only_new, 400, "VALIDATION_ERROR")["details"] == {
        "current_password": ["is required to change the password"]
    }
    wrong = await live.http.patch(
        "/v1/users/me",
        json={"current_password": "not-the-password", "new_password": "staple-orbit-lantern"},
        headers=seoyeon.headers,
    )
    assert assert_error(wrong, 400, "VALIDATION_ERROR")["details"] == {"current_password": ["is incorrect"]}
    weak = await live.http.patch(
        "/v1/users/me", json={"current_password": PASSWORD, "new_password": PASSWORD}, headers=seoyeon.headers
    )
    assert assert_error(weak, 400, "VALIDATION_ERROR")["details"] == {
        "new_password": ["must differ from the current password"]
    }
    # None of it changed the password.
    await login(live, seoyeon.email)


async def test_a_password_change_ends_the_other_sessions_only(live: Live) -> None:
    this = await make_account(live, "hyunwoo@example.kr")
    other = await login(live, this.email)
    new_password = "staple-orbit-lantern"
    response = await live.http.patch(
        "/v1/users/me", json={"current_password": PASSWORD, "new_password": new_password}, headers=this.headers
    )
    assert response.status_code == 200, response.text

    assert_error(
        await live.http.post("/v1/auth/login", json={"email": this.email, "password": PASSWORD}),
        401,
        "INVALID_CREDENTIALS",
    )
    await login(live, this.email, new_password)
    assert_error(
        await live.http.post("/v1/auth/refresh", json={"refresh_token": other.refresh_token}), 401, "UNAUTHORIZED"
    )
    kept = await live.http.post("/v1/auth/refresh", json={"refresh_token": this.refresh_token})
    assert kept.status_code == 200, kept.text


async def test_create_user_serves_the_admin_bootstrap(live: Live) -> None:
    admin = await make_account(live, " Root@Example.KR", tier=Tier.PRO, role=Role.ADMIN)
    me = (await live.http.get("/v1/users/me", headers=admin.headers)).json()
    assert (me["email"], me["tier"], me["role"]) == ("root@example.kr", "pro", "admin")
