"""Saved screens: CRUD, running them, the free tier's limit, and other users' screens staying invisible."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from sqlalchemy import func, select

from kstock.identity.principal import Tier
from kstock.screener.models import SavedScreen
from tests.support.accounts import Account, make_account
from tests.support.app import Live, app_state, assert_error

CHEAP = {"market": "ALL", "filters": {"per": {"max": 20}}, "sort_by": "per", "order": "asc"}


async def count_screens(live: Live, user_id: uuid.UUID) -> int:
    async with app_state(live.app).sessionmaker() as session:
        statement = select(func.count()).select_from(SavedScreen).where(SavedScreen.user_id == user_id)
        return int((await session.execute(statement)).scalar_one())


async def create(live: Live, account: Account, name: str, definition: dict[str, Any] | None = None) -> dict[str, Any]:
    response = await live.http.post(
        "/v1/screens", json={"name": name, "definition": definition or CHEAP}, headers=account.headers
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_create_read_replace_run_delete(saved_live: Live) -> None:
    me = await make_account(saved_live, "crud@example.com")
    saved = await create(saved_live, me, "cheap")
    assert saved["name"] == "cheap"
    assert saved["definition"]["filters"] == {"per": {"max": 20.0}}
    assert saved["created_at"]
    assert saved["updated_at"]
    url = f"/v1/screens/{saved['id']}"

    assert (await saved_live.http.get(url, headers=me.headers)).json() == saved
    listing = (await saved_live.http.get("/v1/screens", headers=me.headers)).json()
    assert [s["id"] for s in listing["screens"]] == [saved["id"]]
    assert listing["meta"] == {"count": 1, "limit": 3}

    ran = await saved_live.http.post(f"{url}/run?per_page=2", headers=me.headers)
    assert ran.status_code == 200, ran.text
    direct = (await saved_live.http.post("/v1/screen", json={**CHEAP, "per_page": 2})).json()
    assert ran.json()["stocks"] == direct["stocks"]
    assert ran.json()["meta"]["total"] == direct["meta"]["total"]
    assert [s["code"] for s in ran.json()["stocks"]] == ["005930"]  # the one stock of the seed with a PER

    replaced = await saved_live.http.put(
        url, json={"name": "kospi", "definition": {"market": "kospi"}}, headers=me.headers
    )
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["name"] == "kospi"
    assert replaced.json()["definition"]["market"] == "KOSPI"
    assert replaced.json()["id"] == saved["id"]
    assert replaced.json()["created_at"] == saved["created_at"]

    assert (await saved_live.http.delete(url, headers=me.headers)).status_code == 204
    assert_error(await saved_live.http.get(url, headers=me.headers), 404, "SCREEN_NOT_FOUND")
    assert_error(await saved_live.http.delete(url, headers=me.headers), 404, "SCREEN_NOT_FOUND")


async def test_another_users_screens_are_invisible(saved_live: Live) -> None:
    owner = await make_account(saved_live, "owner@example.com")
    intruder = await make_account(saved_live, "intruder@example.com", tier=Tier.PRO)
    saved = await create(saved_live, owner, "mine")
    url = f"/v1/screens/{saved['id']}"
    assert_error(await saved_live.http.get(url, headers=intruder.headers), 404, "SCREEN_NOT_FOUND")
    assert_error(await saved_live.http.post(f"{url}/run", headers=intruder.headers), 404, "SCREEN_NOT_FOUND")
    body = {"name": "stolen", "definition": {}}
    assert_error(await saved_live.http.put(url, json=body, headers=intruder.headers), 404, "SCREEN_NOT_FOUND")
    assert_error(await saved_live.http.delete(url, headers=intruder.headers), 404, "SCREEN_NOT_FOUND")
    assert (await saved_live.http.get("/v1/screens", headers=intruder.headers)).json()["screens"] == []
    # Untouched, and a missing id answers exactly like someone else's.
    assert (await saved_live.http.get(url, headers=owner.headers)).json() == saved
    missing = await saved_live.http.get(f"/v1/screens/{uuid.uuid4()}", headers=intruder.headers)
    assert_error(missing, 404, "SCREEN_NOT_FOUND")


async def test_every_route_needs_a_signed_in_user(saved_live: Live) -> None:
    some = f"/v1/screens/{uuid.uuid4()}"
    for method, url in [("GET", "/v1/screens"), ("POST", "/v1/screens"), ("GET", some), ("PUT", some)]:
        assert_error(await saved_live.http.request(method, url, json={}), 401, "UNAUTHORIZED")
    assert_error(await saved_live.http.delete(some), 401, "UNAUTHORIZED")
    assert_error(await saved_live.http.post(f"{some}/run"), 401, "UNAUTHORIZED")


async def test_the_free_tier_keeps_three(saved_live: Live) -> None:
    free = await make_account(saved_live, "free@example.com")
    first = [await create(saved_live, free, f"screen {i}") for i in range(3)]
    refused = await saved_live.http.post(
        "/v1/screens", json={"name": "fourth", "definition": CHEAP}, headers=free.headers
    )
    error = assert_error(refused, 403, "TIER_LIMIT_EXCEEDED")
    assert error["details"]["limit"] == 3
    assert error["details"]["current_tier"] == "free"
    assert error["details"]["required_tier"] == "basic"
    assert await count_screens(saved_live, free.id) == 3  # the refused insert rolled back
    # Freeing a slot makes room again.
    assert (await saved_live.http.delete(f"/v1/screens/{first[0]['id']}", headers=free.headers)).status_code == 204
    await create(saved_live, free, "fourth")

    basic = await make_account(saved_live, "basic@example.com", tier=Tier.BASIC)
    for i in range(5):
        await create(saved_live, basic, f"basic {i}")
    assert await count_screens(saved_live, basic.id) == 5


async def test_concurrent_creates_cannot_overshoot_the_limit(saved_live: Live) -> None:
    racer = await make_account(saved_live, "racer@example.com")

    async def attempt(i: int) -> int:
        response = await saved_live.http.post(
            "/v1/screens", json={"name": f"race {i}", "definition": CHEAP}, headers=racer.headers
        )
        return response.status_code

    statuses = await asyncio.gather(*(attempt(i) for i in range(8)))
    assert sorted(statuses) == [201] * 3 + [403] * 5
    assert await count_screens(saved_live, racer.id) == 3


async def test_bad_definitions_and_names_store_nothing(saved_live: Live) -> None:
    me = await make_account(saved_live, "careful@example.com", tier=Tier.PRO)
    cases: list[tuple[dict[str, Any], int, str]] = [
        ({"name": "x", "definition": {"filters": {"pex": {"min": 1}}}}, 400, "VALIDATION_ERROR"),
        ({"name": "x", "definition": {"filters": {"per": {"min": 9, "max": 1}}}}, 422, "INVALID_RANGE"),
        ({"name": "", "definition": {}}, 400, "VALIDATION_ERROR"),
        ({"name": "x" * 101, "definition": {}}, 400, "VALIDATION_ERROR"),
        ({"name": "x", "definition": {}, "user_id": str(uuid.uuid4())}, 400, "VALIDATION_ERROR"),
        ({"name": "x", "definition": {"page": 2}}, 400, "VALIDATION_ERROR"),
        ({"definition": {}}, 400, "VALIDATION_ERROR"),
    ]
    for body, status, code in cases:
        assert_error(await saved_live.http.post("/v1/screens", json=body, headers=me.headers), status, code)
    assert await count_screens(saved_live, me.id) == 0

    await create(saved_live, me, "taken")
    other = await create(saved_live, me, "other")
    duplicate = await saved_live.http.post("/v1/screens", json={"name": "taken", "definition": {}}, headers=me.headers)
    assert_error(duplicate, 409, "SCREEN_NAME_TAKEN")
    renamed = await saved_live.http.put(
        f"/v1/screens/{other['id']}", json={"name": "taken", "definition": {}}, headers=me.headers
    )
    assert_error(renamed, 409, "SCREEN_NAME_TAKEN")
    assert (await saved_live.http.get(f"/v1/screens/{other['id']}", headers=me.headers)).json() == other
    assert_error(await saved_live.http.get("/v1/screens/not-a-uuid", headers=me.headers), 400, "VALIDATION_ERROR")
    assert await count_screens(saved_live, me.id) == 2


async def test_screens_are_reads_and_saving_is_audited(saved_live: Live) -> None:
    me = await make_account(saved_live, "audited@example.com")
    before = len(await saved_live.audit_events("http.request"))
    assert (await saved_live.http.post("/v1/screen", json={})).status_code == 200
    saved = await create(saved_live, me, "audited")
    assert (await saved_live.http.post(f"/v1/screens/{saved['id']}/run", headers=me.headers)).status_code == 200
    events = (await saved_live.audit_events("http.request"))[before:]
    assert [(e.method, e.path, e.status) for e in events] == [("POST", "/v1/screens", 201)]
