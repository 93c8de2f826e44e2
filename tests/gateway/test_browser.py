"""What browsers get: /docs from packaged assets (no CDN), CORS for the configured origins only, and compressed
answers when they ask, with the gateway's headers kept."""

from __future__ import annotations

import gzip
import re
from typing import Any

import brotli
import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.gateway.helpers import engine_url, gateway_settings, running_app
from tests.support.app import http_client
from tests.support.databases import DatabaseFactory

ALLOWED = "https://app.example.kr"


async def test_docs_render_from_local_assets(db_factory: DatabaseFactory, clean_engine: AsyncEngine) -> None:
    async with running_app(gateway_settings(db_factory, engine_url(clean_engine))) as app, http_client(app) as http:
        page = await http.get("/docs")
        assets = re.findall(r"""(?:src|href)=['"]([^'"]+)['"]""", page.text)
        fetched = {url: await http.get(url) for url in assets}
        spec = await http.get("/openapi.json")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert not re.search(r"https?://", page.text), "the page must load nothing from another host"
    assert "/docs/assets/swagger-ui-bundle.js" in assets
    assert "/docs/assets/swagger-ui.css" in assets
    for url, response in fetched.items():
        assert response.status_code == 200, url
    assert b"SwaggerUIBundle" in fetched["/docs/assets/swagger-ui-bundle.js"].content
    assert "'/openapi.json'" in page.text or '"/openapi.json"' in page.text
    assert spec.json()["openapi"].startswith("3.")


def cors_headers(response: httpx.Response) -> dict[str, str]:
    return {name: value for name, value in response.headers.items() if name.startswith("access-control-")}


async def test_cors_answers_preflights_for_configured_origins(
    db_factory: DatabaseFactory, clean_engine: AsyncEngine
) -> None:
    settings = gateway_settings(
        db_factory, engine_url(clean_engine), cors_origins=f"{ALLOWED}, https://admin.example.kr/"
    )
    preflight = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type",
    }
    async with running_app(settings) as app, http_client(app) as http:
        allowed = await http.options("/v1/screen", headers={"Origin": ALLOWED, **preflight})
        second = await http.options("/v1/screen", headers={"Origin": "https://admin.example.kr", **preflight})
        other = await http.options("/v1/screen", headers={"Origin": "https://evil.example", **preflight})
        simple = await http.get("/health", headers={"Origin": ALLOWED})
        foreign = await http.get("/health", headers={"Origin": "https://evil.example"})
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == ALLOWED
    assert "POST" in allowed.headers["access-control-allow-methods"]
    assert "authorization" in allowed.headers["access-control-allow-headers"].lower()
    assert allowed.headers["x-request-id"]
    assert second.headers["access-control-allow-origin"] == "https://admin.example.kr"
    assert other.status_code == 400
    assert "access-control-allow-origin" not in other.headers
    assert simple.headers["access-control-allow-origin"] == ALLOWED
    exposed = simple.headers["access-control-expose-headers"].lower()
    assert "x-request-id" in exposed
    assert "x-ratelimit-remaining" in exposed
    assert "access-control-allow-origin" not in foreign.headers


async def test_no_cors_headers_without_origins(db_factory: DatabaseFactory, clean_engine: AsyncEngine) -> None:
    async with running_app(gateway_settings(db_factory, engine_url(clean_engine))) as app, http_client(app) as http:
        simple = await http.get("/health", headers={"Origin": ALLOWED})
        preflight = await http.options(
            "/v1/screen", headers={"Origin": ALLOWED, "Access-Control-Request-Method": "POST"}
        )
    assert cors_headers(simple) == {}
    assert cors_headers(preflight) == {}
    assert preflight.status_code == 405


async def raw_get(http: httpx.AsyncClient, url: str, encoding: str) -> tuple[httpx.Response, bytes]:
    """The response and its body as it came over the wire (not decoded)."""
    async with http.stream("GET", url, headers={"Accept-Encoding": encoding}) as response:
        raw = b"".join([chunk async for chunk in response.aiter_raw()])
    return response, raw


async def test_large_answers_are_compressed_as_the_client_asks(db_factory: DatabaseFactory, demo_engine: Any) -> None:
    settings = gateway_settings(db_factory, engine_url(demo_engine))
    url = "/v1/stocks?per_page=100"
    async with running_app(settings) as app, http_client(app) as http:
        plain, plain_body = await raw_get(http, url, "identity")
        br, br_body = await raw_get(http, url, "gzip, deflate, br")
        gz, gz_body = await raw_get(http, url, "br;q=0, gzip")
        small, small_body = await raw_get(http, "/health", "br, gzip")
    assert "content-encoding" not in plain.headers
    assert plain.headers["vary"] == "Accept-Encoding"
    assert br.headers["content-encoding"] == "br"
    assert gz.headers["content-encoding"] == "gzip"
    assert brotli.decompress(br_body) == plain_body
    assert gzip.decompress(gz_body) == plain_body
    assert len(br_body) < len(plain_body) / 3
    assert int(br.headers["content-length"]) == len(br_body)
    for response in (br, gz):
        assert response.headers["x-request-id"]
        assert response.headers["x-ratelimit-limit"]
        assert response.headers["x-content-type-options"] == "nosniff"
        assert "accept-encoding" in response.headers["vary"].lower()
    assert "content-encoding" not in small.headers  # under KSTOCK_COMPRESSION_MIN_BYTES
    assert small_body.startswith(b"{")


async def test_compression_can_be_turned_off(db_factory: DatabaseFactory, demo_engine: Any) -> None:
    settings = gateway_settings(db_factory, engine_url(demo_engine), compression_min_bytes=0)
    async with running_app(settings) as app, http_client(app) as http:
        response, body = await raw_get(http, "/v1/stocks?per_page=100", "br, gzip")
    assert "content-encoding" not in response.headers
    assert body.startswith(b"{")
