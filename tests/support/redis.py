"""A redis-server process of a test's own, on a free loopback port: for the outages a shared Redis cannot have."""

from __future__ import annotations

import asyncio
import shutil
import signal
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from bench.server import free_port
from redis.asyncio import Redis
from redis.exceptions import RedisError

START_TIMEOUT_S = 5.0


class RedisServer:
    """A redis-server that keeps nothing on disk and can be stopped (killed) and started again on its port, or
    paused and resumed (its connections stay open, nothing answers)."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port if port is not None else free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        binary = shutil.which("redis-server")
        assert binary is not None, "redis-server is not on PATH"
        self.process = await asyncio.create_subprocess_exec(
            *(binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        client = Redis.from_url(self.url, socket_connect_timeout=0.2)
        deadline = time.monotonic() + START_TIMEOUT_S
        try:
            while time.monotonic() < deadline:
                if self.process.returncode is not None:
                    break
                try:
                    if await client.ping():
                        return
                except (OSError, RedisError):
                    pass
                await asyncio.sleep(0.05)
        finally:
            await client.aclose()
        await self.stop()
        raise RuntimeError(f"redis-server did not start on port {self.port}")

    async def stop(self) -> None:
        """Kill the server (paused or not): it saves nothing, so it starts again empty."""
        if self.process is not None and self.process.returncode is None:
            self.process.kill()
            await asyncio.wait_for(self.process.wait(), 5)
        self.process = None

    def pause(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)


@asynccontextmanager
async def redis_server() -> AsyncIterator[RedisServer]:
    """A started redis-server of the caller's own, killed on exit; skips the test where redis-server is absent."""
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not on PATH")
    server = RedisServer()
    await server.start()
    try:
        yield server
    finally:
        await server.stop()
