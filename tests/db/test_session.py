"""The request's transaction commits before the response leaves, and rolls back on error."""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

from fastapi import FastAPI
from sqlalchemy import event, text

from kstock.app import create_app
from kstock.db import migrate
from kstock.db.engine import create_engine
from kstock.db.session import SessionDep
from tests.support.databases import DatabaseFactory


async def test_commit_happens_before_the_response_is_sent(db_factory: DatabaseFactory) -> None:
    settings = await db_factory.settings("session_order")
    engine = create_engine(settings)
    await migrate.upgrade(engine)
    await engine.dispose()
    app: FastAPI = create_app(settings)
    order: list[str] = []

    async def write(session: SessionDep) -> dict[str, str]:
        event.listen(session.sync_session, "after_commit", lambda _s: order.append("commit"))
        await session.execute(text("SELECT 1"))
        return {"ok": "yes"}

    app.add_api_route("/write", write, methods=["POST"])

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: MutableMapping[str, Any]) -> None:
        if message["type"] == "http.response.start":
            order.append("response")

    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "path": "/write",
        "raw_path": b"/write", "query_string": b"", "headers": [], "client": ("127.0.0.1", 1), "server": ("t", 80),
        "scheme": "http", "root_path": "",
    }  # fmt: skip
    async with app.router.lifespan_context(app):
        await app(scope, receive, send)
    assert order == ["commit", "response"]
