"""The one error body, request ids, probes and the OpenAPI document."""

from __future__ import annotations

import re
import secrets
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio

from kstock.app import create_app
from kstock.config import ConfigurationError, Settings
from kstock.db import migrate
from tests.support.app import lifespan_client
from tests.support.databases import DatabaseFactory

TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")


def assert_error_body(response: httpx.Response, status: int, code: str, path: str) -> dict[str, object]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body: dict[str, object] = response.json()
    assert set(body) == {"error", "message", "details", "timestamp", "path", "request_id"}
    assert body["error"] == code
    assert body["path"] == path
    assert isinstance(body["timestamp"], str)
    assert TIMESTAMP.match(body["timestamp"])
    assert body["request_id"] == response.headers["x-request-id"]
    return body


@pytest_asyncio.fixture(loop_scope="session")
async def boom_client(market_settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(market_settings)

    async def boom() -> None:
        raise RuntimeError("secret internal detail: password=hunter2")

    app.add_api_route("/v1/boom", boom, methods=["GET"])
    async with lifespan_client(app) as http:
        yield http


async def test_unknown_route_is_404_in_the_error_format(client: httpx.AsyncClient) -> None:
    body = assert_error_body(await client.get("/v1/nowhere"), 404, "NOT_FOUND", "/v1/nowhere")
    assert body["message"] == "Resource not found"


async def test_wrong_method_is_405_with_allow(client: httpx.AsyncClient) -> None:
    response = await client.delete("/v1/stocks/005930")
    assert_error_body(response, 405, "METHOD_NOT_ALLOWED", "/v1/stocks/005930")
    assert response.headers["allow"] == "GET"


async def test_unhandled_exception_is_500_without_detail(boom_client: httpx.AsyncClient) -> None:
    response = await boom_client.get("/v1/boom")
    body = assert_error_body(response, 500, "INTERNAL_ERROR", "/v1/boom")
    assert body["message"] == "Internal server error"
    assert body["details"] == {}
    assert "secret" not in response.text
    assert "hunter2" not in response.text
    assert "Traceback" not in response.text
    assert response.headers["x-content-type-options"] == "nosniff"  # rendered outside the gateway middleware


async def test_request_id_is_generated(client: httpx.AsyncClient) -> None:
    response = await client.get("/health")
    assert uuid.UUID(response.headers["x-request-id"]).version == 4


async def test_valid_request_id_is_echoed(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/stocks/000000", headers={"X-Request-ID": "client-req-0001"})
    assert response.headers["x-request-id"] == "client-req-0001"
    assert response.json()["request_id"] == "client-req-0001"


@pytest.mark.parametrize("bad", ["short", "has spaces in it", "x" * 129, "new\\nline-injection", "<script>xx"])
async def test_unsafe_request_id_is_replaced(client: httpx.AsyncClient, bad: str) -> None:
    response = await client.get("/health", headers={"X-Request-ID": bad})
    assert response.headers["x-request-id"] != bad
    uuid.UUID(response.headers["x-request-id"])


async def test_health_and_ready(client: httpx.AsyncClient) -> None:
    health = await client.get("/health")
    assert health.json() == {"status": "ok", "version": "0.1.0"}
    ready = await client.get("/ready")
    assert ready.status_code == 200
    checks = ready.json()["checks"]
    assert checks["database"] == "ok"
    assert checks["schema"] == migrate.head_revision()
    assert checks["market_snapshot"].startswith("version ")


async def test_ready_is_503_on_an_unmigrated_database(db_factory: DatabaseFactory) -> None:
    app = create_app(await db_factory.settings("unmigrated"))
    async with lifespan_client(app) as http:
        response = await http.get("/ready")
        body = assert_error_body(response, 503, "SERVICE_UNAVAILABLE", "/ready")
        assert body["details"] == {"schema": None, "expected": migrate.head_revision()}
        assert (await http.get("/health")).status_code == 200
        unloaded = assert_error_body(await http.get("/v1/stocks"), 503, "SERVICE_UNAVAILABLE", "/v1/stocks")
        assert unloaded["details"] == {"market_snapshot": "not loaded"}


async def test_ready_is_503_when_the_database_is_unreachable() -> None:
    settings = Settings(database_url="postgresql+asyncpg://postgres@127.0.0.1:1/none", env="testing")
    app = create_app(settings)
    async with lifespan_client(app) as http:
        response = await http.get("/ready")
        body = assert_error_body(response, 503, "SERVICE_UNAVAILABLE", "/ready")
        assert body["details"] == {"database": "unreachable"}


def test_production_refuses_default_or_short_secret() -> None:
    with pytest.raises(ConfigurationError, match="KSTOCK_SECRET_KEY"):
        create_app(Settings(env="production"))
    with pytest.raises(ConfigurationError):
        create_app(Settings(env="production", secret_key="too-short"))
    create_app(Settings(env="production", secret_key=secrets.token_urlsafe(48)))


async def test_openapi_declares_errors_and_examples(client: httpx.AsyncClient) -> None:
    document = (await client.get("/openapi.json")).json()
    operations = [
        (path, method, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if path.startswith("/v1/")
    ]
    assert len(operations) >= 5
    for path, method, operation in operations:
        assert "400" in operation["responses"], (path, method)
        assert "500" in operation["responses"], (path, method)
        error_schema = operation["responses"]["400"]["content"]["application/json"]["schema"]
        assert error_schema["$ref"].endswith("/ErrorBody"), path
    detail_security = document["paths"]["/v1/stocks/{stock_code}"]["get"]["security"]
    assert detail_security == [{}, {"HTTPBearer": []}, {"APIKeyHeader": []}]  # optional credentials
    assert {} not in document["paths"]["/v1/users/me"]["get"]["security"]  # required credentials
    schemas = document["components"]["schemas"]
    assert schemas["LatestPrice"]["properties"]["close_price"]["examples"] == [71000]
    per_page = next(p for p in document["paths"]["/v1/stocks"]["get"]["parameters"] if p["name"] == "per_page")
    assert per_page["schema"]["maximum"] == 100
    docs = await client.get("/docs")
    assert docs.status_code == 200
    assert "swagger" in docs.text.lower()
