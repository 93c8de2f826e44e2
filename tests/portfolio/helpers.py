"""Helpers that drive the portfolio routes (the app is the root ``live`` fixture)."""

from __future__ import annotations

import uuid
from typing import Any

from tests.support.accounts import Account
from tests.support.app import Live


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
