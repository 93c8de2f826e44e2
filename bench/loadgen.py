"""A small closed-loop HTTP/1.1 load generator: N keep-alive connections, each sending its next request as
soon as the previous answer arrived. Each connection is a bare asyncio protocol (no stream reader: one callback
per answer, which is parsed only for its status and length), so its own cost per request, system calls included,
stays under 50 microseconds (asyncio streams cost about 65) and on a 2-core machine it takes little CPU from the
server it measures.
"""

from __future__ import annotations

import asyncio
import os
import platform
import statistics
import time
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar, cast

T = TypeVar("T")


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile; NaN for no values."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered)) - 1))]


@dataclass
class LoadResult:
    label: str
    latencies_ms: list[float]
    seconds: float
    errors: int
    bytes_received: int
    server_cpu_us: float | None = None  # the server's CPU time per request, when the caller measured it

    def percentile(self, pct: float) -> float:
        return percentile(self.latencies_ms, pct)

    def line(self) -> str:
        count = len(self.latencies_ms)
        cpu = f" server_cpu={self.server_cpu_us:.0f} us/req" if self.server_cpu_us is not None else ""
        return (
            f"{self.label}: n={count} errors={self.errors} "
            f"p50={statistics.median(self.latencies_ms):.2f} ms p90={self.percentile(90):.2f} ms "
            f"p99={self.percentile(99):.2f} ms max={max(self.latencies_ms):.2f} ms "
            f"throughput={count / self.seconds:.0f} req/s avg_body={self.bytes_received / max(count, 1) / 1024:.1f} KiB"
            f"{cpu}"
        )


def median_round(results: Sequence[LoadResult]) -> LoadResult:
    """The round whose p99 is the median of the rounds': single rounds on a shared VM are noisy."""
    return sorted(results, key=lambda r: r.percentile(99))[len(results) // 2]


def _content_length(head: bytes) -> int:
    """The ``Content-Length`` of a lower-cased response head (0 without one)."""
    at = head.find(b"\r\ncontent-length:")
    if at < 0:
        return 0
    end = head.find(b"\r\n", at + 2)
    return int(head[at + 17 : end if end >= 0 else len(head)])


class _Run:
    """The state the connections of one load share: what to send next, and what came back."""

    def __init__(self, encoded: Sequence[bytes], total: int, warmup: int, connections: int) -> None:
        self.encoded = encoded
        self.total = total
        self.warmup = warmup
        self.next = 0
        self.open = connections
        self.latencies: list[float] = []
        self.errors = 0
        self.bytes = 0
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def finished(self, exc: BaseException | None = None) -> None:
        self.open -= 1
        if self.done.done():
            return
        if exc is not None:
            self.done.set_exception(exc)
        elif self.open == 0:
            self.done.set_result(None)


class _Connection(asyncio.Protocol):
    """One keep-alive connection of the closed loop: it sends its next request as soon as the answer to the
    previous one is complete (its head and ``Content-Length`` bytes of body)."""

    def __init__(self, run: _Run) -> None:
        self.run = run
        self.transport: asyncio.Transport | None = None
        self.buffer = b""
        self.expected = -1  # the full length of the answer under way, once its head is in
        self.status = 0
        self.length = 0
        self.index = -1
        self.started = 0.0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        self._send_next()

    def _send_next(self) -> None:
        run, transport = self.run, self.transport
        if transport is None:
            return
        if run.next >= run.total:
            transport.close()
            return
        self.index = run.next
        run.next += 1
        self.started = time.perf_counter()
        transport.write(run.encoded[self.index % len(run.encoded)])

    def data_received(self, data: bytes) -> None:
        buffer = self.buffer + data if self.buffer else data
        if self.expected < 0:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                self.buffer = buffer
                return
            head = buffer[:end].lower()
            self.status = int(head[9:12])
            self.length = _content_length(head)
            self.expected = end + 4 + self.length
        if len(buffer) < self.expected:
            self.buffer = buffer
            return
        elapsed = (time.perf_counter() - self.started) * 1000
        run = self.run
        if self.index >= run.warmup:
            run.latencies.append(elapsed)
            run.bytes += self.length
            if self.status != 200:
                run.errors += 1
        self.buffer = b""
        self.expected = -1
        self._send_next()

    def connection_lost(self, exc: Exception | None) -> None:
        if exc is None and self.expected >= 0:
            exc = ConnectionError("the server closed the connection in the middle of an answer")
        self.run.finished(exc)


async def run_load(
    host: str,
    port: int,
    paths: Sequence[str],
    *,
    label: str,
    concurrency: int,
    requests: int,
    warmup: int = 200,
    headers: dict[str, str] | None = None,
    method: str = "GET",
    body: bytes | None = None,
    bodies: Sequence[bytes] | None = None,
    content_type: str = "application/json",
) -> LoadResult:
    """Send ``requests`` requests (cycling through ``paths``) over ``concurrency`` connections; time each one.

    GET by default; with ``method="POST"`` and a ``body``, every request carries that body; with ``bodies``,
    the requests cycle through them.
    """
    payloads: list[bytes | None] = list(bodies) if bodies is not None else [body]

    def encode(path: str, payload: bytes | None) -> bytes:
        fields = dict(headers or {})
        if payload is not None:
            fields.setdefault("Content-Type", content_type)
            fields["Content-Length"] = str(len(payload))
        extra = "".join(f"{k}: {v}\r\n" for k, v in fields.items())
        return f"{method} {path} HTTP/1.1\r\nHost: {host}\r\n{extra}\r\n".encode() + (payload or b"")

    count = max(len(paths), len(payloads))
    encoded = [encode(paths[i % len(paths)], payloads[i % len(payloads)]) for i in range(count)]
    run = _Run(encoded, warmup + requests, warmup, concurrency)
    loop = asyncio.get_running_loop()
    started = time.perf_counter()
    transports = [(await loop.create_connection(lambda: _Connection(run), host, port))[0] for _ in range(concurrency)]
    try:
        await run.done
    finally:
        for transport in transports:
            transport.close()
    seconds = time.perf_counter() - started
    return LoadResult(label, run.latencies, seconds, run.errors, run.bytes)


def run_client(coro: Coroutine[Any, Any, T]) -> T:
    """Run the load generator on uvloop (installed with uvicorn[standard]): the client's own CPU comes out of the
    same two cores as the server's, so the cheaper it is, the more the figures describe the server."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvicorn[standard] brings it
        return asyncio.run(coro)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(coro)


def machine() -> str:
    """One line about the machine the numbers come from."""
    model = "unknown CPU"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{os.cpu_count()} cores, {model}, Python {platform.python_version()}, {platform.system()}"
