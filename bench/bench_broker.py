"""Benchmark: how many messages per second one Redis broker subscriber takes in, as an API instance would.

A feed stand-in in a separate process publishes ``--messages`` price updates (realistic ~150-byte
``price_update`` payloads) across ``--channels`` stocks with ``publish_many`` batches of ``--batch``; this process
holds one :class:`~kstock.broker.redis.RedisBroker` subscribed to every channel and counts what its handler
is given. Two measures, each the median of ``--runs`` runs:

* **live**: the publisher runs while the subscriber reads, as in production; the rate is messages / seconds
  between the first and the last message received. Each run also prints the publisher's own rate: when the
  publisher is the slower side (on 2 cores the publisher, Redis and the subscriber share them), the live rate
  shows the publisher's, and the subscriber's CPU time per message tells its headroom.
* **backlog**: the subscriber's event loop is held until the publisher has sent everything (Redis keeps it in
  the subscriber's output buffer), then the subscriber drains it flat out: its own ceiling.

By default a throwaway redis-server is started on a free port with no pub/sub output-buffer limit, so a
subscriber that falls behind is measured rather than disconnected (a stock Redis drops a subscriber more than
32 MB behind, 8 MB for a minute). ``--redis-url`` uses an existing Redis instead (live measure only);
``--rate`` paces the publisher to that many messages per second to check that a given load is sustained.

Usage: ``.venv/bin/python bench/bench_broker.py [--messages 300000] [--channels 2500] [--batch 500] [--runs 3]
[--rate MSGS_PER_S] [--loop auto|asyncio|uvloop] [--redis-url URL] [--live-only]``
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import platform
import socket
import statistics
import subprocess
import time
import uuid
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing.queues import Queue
from typing import Any

import orjson

from kstock.broker import Message
from kstock.broker.redis import RedisBroker


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def parser_name() -> str:
    try:
        import hiredis  # type: ignore[import-not-found, unused-ignore]  # noqa: F401
    except ImportError:
        return "redis-py's Python parser"
    return "hiredis"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def own_redis() -> Iterator[str]:
    """A throwaway redis-server without a pub/sub output-buffer limit; yields its URL."""
    port = free_port()
    process = subprocess.Popen(  # noqa: S603 - our own command
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        + ["--client-output-buffer-limit", "pubsub 0 0 0"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("redis-server did not start") from None
                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(timeout=10)


def channel_names(count: int) -> list[str]:
    return [f"price:{code:06d}" for code in range(count)]


def price_payload(code: str, i: int) -> bytes:
    """What the feed publishes for one trade, about 150 bytes."""
    price = 10_000 + (i * 37) % 90_000
    return orjson.dumps(
        {
            "code": code,
            "price": price,
            "change": -300 + i % 700,
            "change_rate": round((-300 + i % 700) / price * 100, 2),
            "volume": 12_345_678 + i,
            "trade_value": 879_012_345_678 + i * price,
            "timestamp": "2026-01-02T10:04:05.678+09:00",
        }
    )


def run_loop(main: Callable[[], Coroutine[Any, Any, None]], loop: str) -> None:
    if loop != "asyncio":
        try:
            import uvloop
        except ImportError:
            if loop == "uvloop":
                raise
        else:
            uvloop.run(main())
            return
    asyncio.run(main())


# -- the publisher (a separate process) -------------------------------------------------------------------------


def publisher_process(
    url: str, prefix: str, messages: int, channels: int, batch: int, rate: float, loop: str, report: Queue[float]
) -> None:
    async def main() -> None:
        broker = RedisBroker(url, prefix=prefix)
        await broker.start()
        names = channel_names(channels)
        payloads = [(name, price_payload(name[6:], i)) for i, name in enumerate(names)]
        items = [payloads[i % channels] for i in range(messages)]
        started = time.perf_counter()
        for offset in range(0, messages, batch):
            if rate:
                ahead = started + offset / rate - time.perf_counter()
                if ahead > 0:
                    await asyncio.sleep(ahead)
            await broker.publish_many(items[offset : offset + batch])
        report.put(messages / (time.perf_counter() - started))
        await broker.close()

    run_loop(main, loop)


# -- the subscriber (this process) ------------------------------------------------------------------------------


@dataclass
class RunResult:
    received: int
    rate: float
    publisher_rate: float
    cpu_us_per_message: float


class Counter:
    def __init__(self, expected: int, done: asyncio.Event) -> None:
        self.expected = expected
        self.done = done
        self.count = 0
        self.clock_from: float | None = None  # the first message, or the end of the hold (backlog)
        self.uncounted = 1  # the message that started the clock
        self.last = 0.0

    def __call__(self, message: Message) -> None:
        self.count += 1
        if self.clock_from is None:
            self.clock_from = time.perf_counter()
        if self.count >= self.expected:
            self.last = time.perf_counter()
            self.done.set()


async def one_run(url: str, args: argparse.Namespace, *, backlog: bool) -> RunResult:
    prefix = f"kstock-bench-{uuid.uuid4().hex[:8]}:"
    broker = RedisBroker(url, prefix=prefix)
    await broker.start()
    done = asyncio.Event()
    counter = Counter(args.messages, done)
    broker.set_handler(counter)
    await broker.subscribe(*channel_names(args.channels))

    context = multiprocessing.get_context("spawn")
    report: Queue[float] = context.Queue()
    publisher = context.Process(
        target=publisher_process,
        args=(url, prefix, args.messages, args.channels, args.batch, args.rate, args.loop, report),
    )
    cpu_before = time.process_time()
    publisher.start()
    publisher_rate = 0.0
    if backlog:
        publisher_rate = report.get(True, args.timeout)  # holds this event loop: nothing is read meanwhile
        cpu_before = time.process_time()
        counter.clock_from = time.perf_counter()
        counter.uncounted = 0
    try:
        await asyncio.wait_for(done.wait(), timeout=args.timeout)
    except TimeoutError:
        counter.last = time.perf_counter()
    cpu = time.process_time() - cpu_before
    if not backlog:
        publisher_rate = await asyncio.to_thread(report.get, True, 60)
    await asyncio.to_thread(publisher.join, 30)
    await broker.close()
    seconds = max(counter.last - (counter.clock_from or counter.last), 1e-9)
    return RunResult(
        received=counter.count,
        rate=(counter.count - counter.uncounted) / seconds,
        publisher_rate=publisher_rate,
        cpu_us_per_message=cpu / max(counter.count, 1) * 1e6,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=300_000)
    parser.add_argument("--channels", type=int, default=2_500)
    parser.add_argument("--batch", type=int, default=500, help="messages per publish_many")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--rate", type=float, default=0.0, help="pace the publisher (messages/s); 0: flat out")
    parser.add_argument("--loop", choices=("auto", "asyncio", "uvloop"), default="auto", help="auto: uvloop if there")
    parser.add_argument("--redis-url", default=None, help="an existing Redis (default: a throwaway redis-server)")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for every message of a run")
    parser.add_argument("--live-only", action="store_true", help="skip the backlog measure")
    args = parser.parse_args()

    loop = args.loop
    if loop == "auto":
        try:
            import uvloop  # noqa: F401
        except ImportError:
            loop = "asyncio"
        else:
            loop = "uvloop"
    args.loop = loop
    print(f"machine: {os.cpu_count()} CPUs ({cpu_model()}), Python {platform.python_version()}")
    print(f"parser: {parser_name()}; event loop: {loop}")
    size = len(price_payload("005930", 1))
    print(
        f"{args.messages:,} messages of {size} bytes over {args.channels:,} channels, publish_many batches of "
        f"{args.batch}, publisher {'paced at ' + format(args.rate, ',.0f') + '/s' if args.rate else 'flat out'}"
    )

    def runs(url: str, backlog: bool) -> float:
        label = "backlog" if backlog else "live"
        results: list[RunResult] = []
        for index in range(args.runs):

            async def measure() -> None:
                results.append(await one_run(url, args, backlog=backlog))

            run_loop(measure, loop)
            result = results[-1]
            lost = args.messages - result.received
            print(
                f"{label} run {index + 1}: {result.rate:,.0f} msgs/s received ({result.received:,} messages"
                f"{f', {lost:,} NOT received' if lost else ''}), publisher {result.publisher_rate:,.0f} msgs/s, "
                f"subscriber CPU {result.cpu_us_per_message:.1f} us/message"
            )
        return statistics.median(result.rate for result in results)

    if args.redis_url:
        medians = {"live": runs(args.redis_url, backlog=False)}
    else:
        with own_redis() as url:
            medians = {"live": runs(url, backlog=False)}
            if not args.live_only:
                medians["backlog"] = runs(url, backlog=True)
    for label, median in medians.items():
        print(f"median {label}: {median:,.0f} msgs/s received by one subscriber (target 30,000)")


if __name__ == "__main__":
    main()
