"""One access-log line per HTTP request, after the response: method, path, status, time, request id; never a
query string, a token or a key."""

from __future__ import annotations

import asyncio
import contextlib

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from websockets.asyncio.client import connect

from kstock.cli.server import uvicorn_options
from kstock.gateway import middleware
from tests.gateway.helpers import engine_url, gateway_settings, running_app
from tests.support.accounts import make_api_key, make_user
from tests.support.app import http_client, serving
from tests.support.databases import DatabaseFactory
from tests.support.logs import LogRecorder


async def test_each_request_is_logged_once_without_credentials(
    db_factory: DatabaseFactory, clean_engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    recorder = LogRecorder(context=True)
    monkeypatch.setattr(middleware, "access_log", recorder)
    settings = gateway_settings(db_factory, engine_url(clean_engine))
    async with running_app(settings) as app, http_client(app) as http:
        account = await make_user(settings, clean_engine)
        key, _ = await make_api_key(clean_engine, account.user_id)
        found = await http.get("/v1/test/echo?token=" + account.token, headers={"X-API-Key": key})
        missing = await http.get("/v1/nothing-here?api_key=" + key, headers=account.bearer)
        posted = await http.post("/v1/test/secret", json={"password": "hunter2-hunter2"})

    lines = [fields for _, event, fields in recorder.records if event == "http_request"]
    assert len(lines) == 3
    first, second, third = lines
    assert first["method"] == "GET"
    assert first["path"] == "/v1/test/echo"
    assert first["status"] == found.status_code == 200
    assert first["request_id"] == found.headers["x-request-id"]
    assert isinstance(first["duration_ms"], float)
    assert second["path"] == "/v1/nothing-here"
    assert second["status"] == missing.status_code == 404
    assert third["method"] == "POST"
    assert third["status"] == posted.status_code
    logged = repr(recorder.records)
    for secret in (account.token, key, "hunter2-hunter2", "token=", "api_key="):
        assert secret not in logged


async def test_the_access_log_can_be_turned_off(
    db_factory: DatabaseFactory, clean_engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    recorder = LogRecorder(context=True)
    monkeypatch.setattr(middleware, "access_log", recorder)
    settings = gateway_settings(db_factory, engine_url(clean_engine), access_log=False)
    async with running_app(settings) as app, http_client(app) as http:
        assert (await http.get("/health")).status_code == 200
    assert "http_request" not in recorder.events()


async def test_the_stream_and_its_token_never_reach_the_log(
    db_factory: DatabaseFactory, clean_engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Over a real server: uvicorn's own access log is off, and the stream is served in front of the gateway.
    recorder = LogRecorder(context=True)
    monkeypatch.setattr(middleware, "access_log", recorder)
    settings = gateway_settings(db_factory, engine_url(clean_engine))
    secret = "stream-token-that-must-not-be-logged"
    async with running_app(settings) as app, serving(app) as url:
        with contextlib.suppress(Exception):
            async with connect(f"{url}/ws/stocks?token={secret}", open_timeout=5) as ws:
                await asyncio.wait_for(ws.recv(), 5)
        async with httpx.AsyncClient(base_url=url.replace("ws://", "http://")) as http:
            assert (await http.get(f"/health?token={secret}")).status_code == 200
    assert [fields["path"] for _, event, fields in recorder.records if event == "http_request"] == ["/health"]
    assert secret not in repr(recorder.records)
    assert uvicorn_options(settings)["access_log"] is False  # uvicorn's line would carry the query string
