"""``/ws/stocks``: the WebSocket endpoint, served ahead of the framework's middleware and router.

A connection lives for hours and there may be 10,000 of them: :class:`StreamRoute` hands the path straight to
:class:`StreamEndpoint`, so a connection holds no framework frames or wrappers (memory per connection) and the
endpoint gets the server's own ``send`` (prepared frames go straight to the socket).

Credentials: ``?token=`` (an access token or an API key, as browsers cannot set headers on a WebSocket), or the
``Authorization: Bearer`` / ``X-API-Key`` headers. A missing, bad, expired or revoked credential closes the
connection with 1008 right after the handshake; so does an address with too many failed authentications (the
brute-force guard, checked before the credential) and a user already holding the tier's open connections.
"""

from __future__ import annotations

from urllib.parse import parse_qs

import structlog
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Receive, Scope, Send

from kstock.errors import AppError, UnauthorizedError
from kstock.gateway.throttle import BruteForceGuard
from kstock.identity.dependencies import principal_from_credential
from kstock.identity.principal import Principal
from kstock.stream import service
from kstock.stream.budget import limit_refusal
from kstock.stream.connection import Connection
from kstock.stream.hub import Hub
from kstock.stream.protocol import CloseCode
from kstock.stream.state import find_state_of_app
from kstock.stream.wire import close, wire_for

log = structlog.get_logger("kstock.stream.endpoint")

PATH = "/ws/stocks"


def _credential(scope: Scope) -> str | None:
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    tokens: list[str] = query.get("token", [])
    if tokens:
        return tokens[0]
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            scheme, _, token = str(value.decode("latin-1")).partition(" ")
            return token if scheme.lower() == "bearer" else None
        if name == b"x-api-key":
            return str(value.decode("latin-1"))
    return None


async def _authenticate(scope: Scope) -> tuple[Principal | None, str]:
    credential = _credential(scope)
    if not credential:
        return None, "authentication required: ?token=<access token or API key>"
    connection = HTTPConnection(scope)
    state = find_state_of_app(scope["app"])
    guard: BruteForceGuard | None = None if state is None else state.throttle
    try:
        if guard is not None:  # an address that failed too often is refused before its credential is looked at
            await guard.check_credentials(connection)
        return await principal_from_credential(connection, credential), ""
    except UnauthorizedError as exc:
        if guard is not None:
            await guard.credentials_failed(connection)
        return None, exc.message[:120]
    except AppError as exc:
        return None, exc.message[:120]


class StreamRoute:
    """``/ws/stocks`` WebSocket connections go to the stream, everything else on to ``app``.

    Installed as the application's outermost middleware, and wrapped around the whole application by the server
    factory (:func:`kstock.app.create_app_from_env`): there a connection does not hold the framework's frames.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket" and scope["path"] == PATH:
            if "app" not in scope:  # in front of the framework, which would have set it
                scope["app"] = self.app
            await serve_stream(scope, receive, send)
        else:
            await self.app(scope, receive, send)


async def serve_stream(scope: Scope, receive: Receive, send: Send) -> None:
    """One ``/ws/stocks`` connection, from the handshake to its end (a single coroutine: 10,000 of them wait in
    ``receive``)."""
    if (await receive())["type"] != "websocket.connect":
        return
    state = find_state_of_app(scope["app"])
    hub: Hub | None = None if state is None else state.hub
    principal, reason = await _authenticate(scope)
    # Read once, for the credential: a connection keeps neither (memory on 10,000 of them; no token lingering).
    scope["headers"] = []
    scope["query_string"] = b""
    await send({"type": "websocket.accept"})
    if hub is None:
        await close(send, 1011, "stream unavailable")
        return
    if principal is None:
        await close(send, CloseCode.POLICY_VIOLATION, reason)
        return
    refused = await hub.budget.acquire(principal, connections=1)
    if refused is not None:
        text, _ = limit_refusal(principal, refused, hub.settings)
        await close(send, CloseCode.POLICY_VIOLATION, text[:120])
        return
    connection = Connection(principal, wire_for(send), hub.settings.ws_client_messages_per_s, send)
    hub.register(connection)
    try:
        while True:
            event = await receive()
            kind = event["type"]
            if kind == "websocket.disconnect":
                return
            if kind != "websocket.receive":
                continue
            raw = event.get("text")
            if raw is None:
                raw = event.get("bytes") or b""
            try:
                await service.handle(hub, connection, raw)
            except Exception:  # a bug answering one message must not end the connection
                log.exception("stream_message_failed", connection=connection.id)
    finally:
        try:  # the budget first: a client that reconnects at once finds its place free
            await hub.budget.release(principal, connections=1, codes=len(connection.codes))
        finally:
            await hub.unregister(connection)
