"""An app over the hand-made market per portfolio test module, and helpers to drive it."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from tests.conftest import DatabaseFactory
from tests.identity.conftest import Account, Live, seeded


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def live(db_factory: DatabaseFactory, request: pytest.FixtureRequest) -> AsyncIterator[Live]:
    async with seeded(db_factory, request, "portfolio_") as app:
        yield app


async def new_portfolio(live: Live, account: Account, name: str = "main") -> str:
    response = await live.http.post("/v1/portfolios", json={"name": name}, headers=account.headers)
    assert response.status_code == 201, response.text
    portfolio_id: str = response.json()["id"]
    uuid.UUID(portfolio_id)
    return portfolio_id


async def trade(live: Live, account: Account, portfolio_id: str, **fields: Any) -> dict[str, Any]:
    body = {"fees": 0, **fields}
    response = await live.http.post(f"/v1/portfolios/{portfolio_id}/transactions", json=body, headers=account.headers)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


async def detail(live: Live, account: Account, portfolio_id: str) -> dict[str, Any]:
    response = await live.http.get(f"/v1/portfolios/{portfolio_id}", headers=account.headers)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result
