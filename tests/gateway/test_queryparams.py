"""Unknown query parameters are a 400 naming each of them, on every /v1 route; declared ones pass."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from kstock.gateway.queryparams import UNKNOWN


def v1_operations(document: dict[str, Any]) -> list[tuple[str, str, list[str]]]:
    """(method, path, documented query parameter names) of every /v1 operation of the OpenAPI document."""
    return [
        (method.upper(), path, [p["name"] for p in operation.get("parameters", []) if p["in"] == "query"])
        for path, item in document["paths"].items()
        if path.startswith("/v1/")
        for method, operation in item.items()
    ]


def concrete(path: str) -> str:
    """A path with its parameters filled with well-formed values."""
    samples = {"stock_code": "005930", "code": "005930"}
    return re.sub(r"\{(\w+)(?::\w+)?\}", lambda m: samples.get(m[1], "6f1c2d3e-0000-4000-8000-000000000001"), path)


async def test_unknown_parameters_are_each_named(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/stocks?market=KOSPI&colour=red&sortby=name")
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "VALIDATION_ERROR"
    assert body["details"] == {"colour": [UNKNOWN], "sortby": [UNKNOWN]}
    assert "colour, sortby" in body["message"]
    assert "sort_by" in body["message"]  # the message lists what the endpoint takes


async def test_parameters_of_dependencies_are_known(client: httpx.AsyncClient) -> None:
    # page/per_page come from the pagination dependency, years from the tier-gated one.
    assert (await client.get("/v1/stocks?page=1&per_page=2&sort_by=name")).status_code == 200
    assert (await client.get("/v1/stocks/005930/financials?years=2&period_type=annual")).status_code == 200
    assert (await client.get("/v1/stocks/005930/financials?year=2")).json()["details"] == {"year": [UNKNOWN]}


async def test_every_v1_route_refuses_unknown_and_takes_its_documented_parameters(
    client: httpx.AsyncClient,
) -> None:
    operations = v1_operations((await client.get("/openapi.json")).json())
    assert len(operations) > 40
    for method, path, documented in operations:
        url = concrete(path)
        response = await client.request(method, url + "?zz_unknown=1")
        assert response.status_code == 400, (method, path, response.text)
        assert response.json()["details"] == {"zz_unknown": [UNKNOWN]}, (method, path)
        if documented:
            # Values may be invalid (a 400 for them), but no documented name is called unknown.
            response = await client.request(method, url + "?" + "&".join(f"{name}=1" for name in documented))
            if response.status_code == 400:
                assert UNKNOWN not in str(response.json()["details"]), (method, path, response.text)


@pytest.mark.parametrize("query", ["", "?", "?market=ALL"])
async def test_known_or_no_parameters_pass(client: httpx.AsyncClient, query: str) -> None:
    assert (await client.get("/v1/stocks" + query)).status_code == 200
