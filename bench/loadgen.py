"""A small closed-loop HTTP/1.1 load generator: N keep-alive connections, each sending its next request as
soon as the previous answer arrived. Raw asyncio streams keep its own cost per request in the tens of
microseconds, so on a 2-core machine it takes little CPU from the server it measures.
"""

from __future__ import annotations

import asyncio
import os
import platform
import statistics
import time
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

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

    def percentile(self, pct: float) -> float:
        return percentile(self.latencies_ms, pct)

    def line(self) -> str:
        count = len(self.latencies_ms)
        return (
            f"{self.label}: n={count} errors={self.errors} "
            f"p50={statistics.median(self.latencies_ms):.2f} ms p90={self.percentile(90):.2f} ms "
            f"p99={self.percentile(99):.2f} ms max={max(self.latencies_ms):.2f} ms "
            f"throughput={count / self.seconds:.0f} req/s avg_body={self.bytes_received / max(count, 1) / 1024:.1f} KiB"
        )


def median_round(results: Sequence[LoadResult]) -> LoadResult:
    """The round whose p99 is the median of the rounds': single rounds on a shared VM are noisy."""
    return sorted(results, key=lambda r: r.percentile(99))[len(results) // 2]


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, int]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split(b" ", 2)[1])
    length = 0
    for line in lines[1:]:
        if line[:15].lower() == b"content-length:":
            length = int(line[15:].strip())
    await reader.readexactly(length)
    return status, length


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
    latencies: list[float] = []
    counter = {"next": 0, "errors": 0, "bytes": 0}
    total = warmup + requests

    async def worker() -> None:
        reader, writer = await asyncio.open_connection(host, port)
        try:
            while counter["next"] < total:
                index = counter["next"]
                counter["next"] += 1
                started = time.perf_counter()
                writer.write(encoded[index % len(encoded)])
                status, length = await _read_response(reader)
                elapsed = (time.perf_counter() - started) * 1000
                if index >= warmup:
                    latencies.append(elapsed)
                    counter["bytes"] += length
                    if status != 200:
                        counter["errors"] += 1
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    seconds = time.perf_counter() - started
    return LoadResult(label, latencies, seconds, counter["errors"], counter["bytes"])


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
