"""Small pieces shared by the gateway's pure ASGI middlewares."""

from __future__ import annotations

from starlette.types import Message, Send


class StatusRecorder:
    """Wraps ``send`` and remembers the response status: 500 until a response starts (what the client gets
    when the app raises before answering)."""

    __slots__ = ("send", "status")

    def __init__(self, send: Send) -> None:
        self.send = send
        self.status = 500

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = int(message["status"])
        await self.send(message)
