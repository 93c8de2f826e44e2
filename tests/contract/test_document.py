"""The OpenAPI document says what the server does, and requests are refused the way it says."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from limits import parse
from pydantic import TypeAdapter
from pydantic import ValidationError as PydanticValidationError
from typer.testing import CliRunner

from kstock.cli.main import app as cli
from kstock.gateway.errors import validation_details
from kstock.gateway.limitstore import Usage
from kstock.gateway.ratelimit import rate_limit_headers
from kstock.kit.dates import DATE_MESSAGE
from kstock.kit.validators import StrictUUID
from kstock.openapi import HEADERS
from kstock.portfolio.schemas import TransactionIn

RATE_LIMIT_HEADERS = {
    "X-RateLimit-Limit",
    "X-RateLimit-Remaining",
    "X-RateLimit-Reset",
    "RateLimit",
    "RateLimit-Policy",
}


async def _document(client: httpx.AsyncClient) -> dict[str, Any]:
    response = await client.get("/openapi.json")
    assert response.status_code == 200
    document: dict[str, Any] = response.json()
    return document


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(path, method, op) for path, item in document["paths"].items() for method, op in item.items()]


async def test_validation_errors_are_declared_as_the_400_error_body(client: httpx.AsyncClient) -> None:
    document = await _document(client)
    assert "HTTPValidationError" not in str(document)
    for path, method, operation in _operations(document):
        if path.startswith("/v1/"):
            schema = operation["responses"]["400"]["content"]["application/json"]["schema"]
            assert schema == {"$ref": "#/components/schemas/ErrorBody"}, (method, path)
        declared_422 = operation["responses"].get("422")
        if declared_422 is not None:  # only an operation's own semantic refusals
            assert declared_422["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorBody")


async def test_rate_limit_headers_and_error_responses_are_declared(client: httpx.AsyncClient) -> None:
    document = await _document(client)
    assert RATE_LIMIT_HEADERS | {"Retry-After", "X-Request-ID"} <= set(document["components"]["headers"])
    for path, method, operation in _operations(document):
        if not path.startswith("/v1/"):
            continue
        responses = operation["responses"]
        assert {"401", "429", "500"} <= set(responses), (method, path)
        for status, response in responses.items():
            if status[0] in "24":
                assert RATE_LIMIT_HEADERS <= set(response["headers"]), (method, path, status)
        assert "Retry-After" in responses["429"]["headers"]


async def test_every_response_and_request_body_has_an_example(client: httpx.AsyncClient) -> None:
    document = await _document(client)
    for path, method, operation in _operations(document):
        for media in operation.get("requestBody", {}).get("content", {}).values():
            assert "example" in media or "examples" in media, (method, path)
        for status, response in operation["responses"].items():
            for media in response.get("content", {}).values():
                assert "example" in media or "examples" in media, (method, path, status)
    csv = document["paths"]["/v1/portfolios/{portfolio_id}/holdings.csv"]["get"]["responses"]["200"]["content"]
    assert csv["text/csv"]["example"].startswith("stock_code,stock_name,sector,quantity,avg_price,")


async def test_admin_routes_have_their_own_security(client: httpx.AsyncClient) -> None:
    document = await _document(client)
    assert document["paths"]["/v1/admin/audit"]["get"]["security"] == [{"AdminBearer": []}]
    user_security = [op.get("security") for path, _, op in _operations(document) if not path.startswith("/v1/admin")]
    assert [{"AdminBearer": []}] not in user_security
    financials = document["paths"]["/v1/stocks/{stock_code}/financials"]["get"]
    assert {} in financials["security"]  # anonymous callers are served (up to 5 years)


async def test_request_bounds_are_declared(client: httpx.AsyncClient) -> None:
    document = await _document(client)
    schemas = document["components"]["schemas"]
    screen = schemas["ScreenRequest"]["properties"]
    assert screen["per_page"]["maximum"] == 100
    assert screen["per_page"]["format"] == "int32"
    assert screen["where"]["default"] is None
    assert "type" not in screen["where"]
    assert schemas["Filter"]["properties"]["in"]["anyOf"][0]["maxItems"] == 5_000
    prices = document["paths"]["/v1/stocks/{stock_code}/prices"]["get"]["parameters"]
    code = next(p for p in prices if p["name"] == "stock_code")["schema"]
    assert code["maxLength"] == 6
    assert code["pattern"]
    to_date = next(p for p in prices if p["name"] == "to_date")["schema"]["anyOf"][0]
    assert to_date["format"] == "date"
    assert to_date["maxLength"] == 10


async def test_fields_responses_are_declared_as_a_selection(client: httpx.AsyncClient) -> None:
    document = await _document(client)
    schemas = document["components"]["schemas"]
    listing = document["paths"]["/v1/stocks"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert listing == {"$ref": "#/components/schemas/StockList"}
    variants = schemas["StockList"]["properties"]["stocks"]["items"]["anyOf"]
    assert {"$ref": "#/components/schemas/StockSummarySelection"} in variants
    selection = schemas["StockSummarySelection"]
    assert "required" not in selection
    response = await client.get("/v1/stocks", params={"fields": "name,latest_price.close_price"})
    assert response.status_code == 200
    for stock in response.json()["stocks"]:
        assert set(stock) <= set(selection["properties"])
        assert set(stock) != set(schemas["StockSummary"]["required"])  # not the full model: the selection holds it
    fields = next(p for p in document["paths"]["/v1/stocks"]["get"]["parameters"] if p["name"] == "fields")
    assert "pattern" in fields["schema"]  # exactly the names parse_fields accepts


@pytest.mark.parametrize("value", ["0", "20250101", "2025-01-01T00:00:00", "2025-1-1", "0000-01-01", "2025-02-30"])
async def test_dates_are_only_yyyy_mm_dd(client: httpx.AsyncClient, value: str) -> None:
    for name in ("from_date", "to_date"):
        response = await client.get("/v1/stocks/005930/prices", params={name: value})
        assert response.status_code == 400, (name, value, response.text)
        assert response.json()["details"] == {name: [DATE_MESSAGE]}


def test_body_dates_are_only_yyyy_mm_dd() -> None:
    body = '{"side": "buy", "stock_code": "005930", "quantity": 1, "price": 1000, "trade_date": 0}'
    with pytest.raises(ValueError, match=r"must be a date \(YYYY-MM-DD\)"):
        TransactionIn.model_validate_json(body)


async def test_405_allow_lists_every_method_of_the_path(client: httpx.AsyncClient) -> None:
    response = await client.delete("/v1/portfolios")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, POST"
    assert response.json()["error"] == "METHOD_NOT_ALLOWED"
    account = uuid.uuid4()
    response = await client.get(f"/v1/trading/accounts/{account}/orders/preview")
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    response = await client.request("OPTIONS", f"/v1/trading/accounts/{account}/orders/{uuid.uuid4()}")
    assert response.headers["allow"] == "GET, DELETE"


async def test_pattern_failures_say_what_is_expected_without_the_regex(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/stocks/00593/prices")
    assert response.status_code == 400
    messages = response.json()["details"]["stock_code"]
    assert messages == ["must be a 6-character stock code (digits and letters, e.g. 005930)"]
    assert "^" not in str(messages)
    assert "[0-9" not in str(messages)
    with pytest.raises(PydanticValidationError) as refused:
        TypeAdapter(StrictUUID).validate_python("not-an-id")
    assert validation_details(refused.value.errors()) == {"request": ["must be a UUID (8-4-4-4-12 hex digits)"]}


def test_openapi_command_prints_the_served_document(tmp_path: Path) -> None:
    output = tmp_path / "openapi.json"
    result = CliRunner().invoke(cli, ["openapi", "--output", str(output)])
    assert result.exit_code == 0, result.output
    document = json.loads(output.read_text(encoding="utf-8"))
    assert document["components"]["securitySchemes"]["AdminBearer"]["scheme"] == "bearer"
    assert "/v1/stocks" in document["paths"]


def test_declared_rate_limit_headers_match_what_the_limiter_sends() -> None:
    now = 1_795_407_400.0
    minute = Usage(policy="tier", item=parse("60/minute"), count=3, reset_at=now + 41.2)
    second = Usage(policy="burst", item=parse("10/second"), count=1, reset_at=now + 0.4)
    sent = rate_limit_headers(minute, [minute, second], now)
    declared = HEADERS
    assert set(sent) == RATE_LIMIT_HEADERS
    for name, value in sent.items():
        schema = declared[name]["schema"]
        if schema["type"] == "integer":
            assert value.isdigit(), (name, value)
            assert schema["minimum"] <= int(value) <= schema["maximum"], (name, value)
        else:
            assert len(value) <= schema["maxLength"], (name, value)
            assert re.fullmatch(schema["pattern"].strip("^$"), value), (name, value)
