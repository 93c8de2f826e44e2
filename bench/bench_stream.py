"""The real-time stream under 10,000 WebSocket connections on one instance (loopback, 2-core machine).

    .venv/bin/python -m bench.bench_stream [--connections 10000] [--clients 4] [--rate 2000] [--seconds 10]

This process is the API instance (the app on uvicorn's sans-I/O WebSocket protocol, the Redis broker); client
processes hold the connections and a publisher process plays the feed. It prints:

* RSS per idle connection (the instance's resident memory after the connections, minus before, over their
  count), with permessage-deflate off (the default) and on;
* fan-out cost of one update to every connection (all are subscribed to one stock): the hub's window flush
  (frame built once, written to each socket) against a naive loop awaiting the ASGI ``send`` of each client,
  timed in the same run, as frames per second of the event loop's one core;
* delivery latency from publish (in the publisher process, into Redis) to receipt (in a client), while the
  publisher sends ``--rate`` updates per second spread over 2,000 stocks and each connection also follows one
  of them.

Targets (issue: real-time stream): <= 20 KB per idle connection (compression off); >= 50,000 frames/s per core
and >= 1.5x the naive loop; p99 latency < 100 ms at 10,000 connections and 2,000 updates/s.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import multiprocessing as mp
import os
import resource
import socket
import statistics
import time
import uuid
from collections.abc import Sequence
from typing import Any

import orjson

from bench.bench_api_latency import dataset_url, ensure_dataset
from bench.loadgen import machine, percentile

REDIS_URL = os.environ.get("KSTOCK_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
LATENCY_STOCKS = 2_000


def rss_bytes() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")


def raise_fd_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


# -- client processes ---------------------------------------------------------------------------------------------


def client_process(
    url: str,
    count: int,
    subscriptions: Sequence[Sequence[str]],
    compression: bool,
    ready: Any,
    stop: Any,
    results: Any,
) -> None:
    """Open ``count`` connections, subscribe each, then read everything until ``stop``; report latencies."""
    import uvloop
    from websockets.asyncio.client import connect

    raise_fd_limit()

    async def main() -> None:
        latencies: list[float] = []
        frames = 0
        opened = []
        gate = asyncio.Semaphore(100)

        async def open_one(codes: Sequence[str]) -> Any:
            async with gate:
                for attempt in range(5):
                    try:
                        ws = await connect(
                            url,
                            compression="deflate" if compression else None,
                            ping_interval=None,
                            max_queue=None,
                            open_timeout=60,
                        )
                        break
                    except OSError:
                        await asyncio.sleep(0.5 * (attempt + 1))
                else:
                    raise RuntimeError("could not connect")
                await ws.send(orjson.dumps({"type": "subscribe", "stock_codes": list(codes)}).decode())
                return ws

        opened = await asyncio.gather(*(open_one(subscriptions[i % len(subscriptions)]) for i in range(count)))

        async def read(ws: Any) -> None:
            nonlocal frames
            async for raw in ws:
                frames += 1
                if '"t":' in raw:
                    message = orjson.loads(raw)
                    if message.get("snapshot"):
                        continue
                    latencies.append(time.time() * 1000 - message["data"]["t"])

        readers = [asyncio.create_task(read(ws)) for ws in opened]
        ready.put(len(opened))
        while not stop.is_set():  # noqa: ASYNC110 - a process event
            await asyncio.sleep(0.1)
        for task in readers:
            task.cancel()
        results.put((latencies[-200_000:], frames))
        await asyncio.gather(*(ws.close() for ws in opened), return_exceptions=True)

    uvloop.run(main())


def publisher_process(redis_url: str, prefix: str, codes: Sequence[str], rate: int, seconds: float, done: Any) -> None:
    """Publish ``rate`` price updates a second (batches every 10 ms) over ``codes`` for ``seconds``."""
    import uvloop

    from kstock.broker import create_broker

    async def main() -> None:
        broker = create_broker(redis_url, prefix=prefix)
        await broker.start()
        per_batch = max(1, rate // 100)
        started = time.monotonic()
        sent = 0
        position = 0
        while time.monotonic() - started < seconds:
            batch = []
            for _ in range(per_batch):
                code = codes[position % len(codes)]
                position += 1
                data = {"current_price": 10_000 + position % 1_000, "volume": position, "t": time.time() * 1000}
                batch.append((f"price:{code}", orjson.dumps(data)))
            await broker.publish_many(batch)
            sent += len(batch)
            next_at = started + sent / rate
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))
        await broker.close()
        done.put(sent)

    uvloop.run(main())


# -- the instance -------------------------------------------------------------------------------------------------


async def token_for(app: Any, port: int) -> str:
    """A pro account made through the service, signed in over HTTP."""
    import httpx

    from kstock.identity import service
    from kstock.identity.principal import Role, Tier
    from kstock.state import state_of_app

    email, password = f"bench-{uuid.uuid4().hex[:8]}@example.com", "bench-password-123"
    async with state_of_app(app).sessionmaker() as session:
        await service.create_user(session, email, password, "Bench", tier=Tier.PRO, role=Role.USER)
        await session.commit()
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
        response = await http.post("/v1/auth/login", json={"email": email, "password": password})
        response.raise_for_status()
        return str(response.json()["access_token"])


class Instance:
    """The app behind uvicorn in this process, on a loopback port."""

    def __init__(self, settings: Any) -> None:
        from kstock.app import create_app

        self.app = create_app(settings)
        self.settings = settings

    async def __aenter__(self) -> Instance:
        import uvicorn

        from kstock.cli.server import uvicorn_options

        self._lifespan = self.app.router.lifespan_context(self.app)
        await self._lifespan.__aenter__()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        options = {**uvicorn_options(self.settings), "factory": False, "lifespan": "off", "backlog": 4096}
        from kstock.stream.endpoint import StreamRoute

        # As `kstock serve` runs it (kstock.app.create_app_from_env): the stream in front of the application.
        self.server = uvicorn.Server(uvicorn.Config(StreamRoute(self.app), **options))
        self._task = asyncio.create_task(self.server.serve(sockets=[self.sock]))
        while not self.server.started:  # noqa: ASYNC110 - uvicorn exposes a flag
            await asyncio.sleep(0.05)
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.server.should_exit = True
        await self._task
        await self._lifespan.__aexit__(None, None, None)
        self.sock.close()


def start_clients(
    url: str, connections: int, clients: int, subscriptions: list[list[str]], compression: bool
) -> tuple[list[Any], Any, Any, Any]:
    ctx = mp.get_context("spawn")
    ready, results, stop = ctx.Queue(), ctx.Queue(), ctx.Event()
    processes = []
    share = connections // clients
    for index in range(clients):
        mine = subscriptions[index * share : (index + 1) * share]
        process = ctx.Process(
            target=client_process, args=(url, share, mine, compression, ready, stop, results), daemon=True
        )
        process.start()
        processes.append(process)
    return processes, ready, results, stop


async def wait_ready(ready: Any, clients: int, timeout_s: float = 600) -> int:
    opened = 0
    deadline = time.monotonic() + timeout_s
    for _ in range(clients):
        while True:
            try:
                opened += ready.get_nowait()
                break
            except Exception:  # queue.Empty
                if time.monotonic() > deadline:
                    raise RuntimeError("clients did not connect in time") from None
                await asyncio.sleep(0.2)
    return opened


async def settle(hub: Any, connections: int, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if len(hub.connections) >= connections and len(hub.rooms.get(f"price:{FANOUT_CODE}", ())) >= connections:
            break
        await asyncio.sleep(0.2)
    await asyncio.sleep(2.0)  # snapshots and acks drained


FANOUT_CODE = "005930"


async def measure_fanout(hub: Any, rounds: int) -> dict[str, list[float]]:
    """Frames per second of one update to the whole room: the hub's flush, against two naive loops that await a
    send per connection with the same (already encoded) text: Starlette's ``WebSocket.send_text`` (what a FastAPI
    WebSocket route does) and the server's bare ASGI ``send``. CPU time of the event loop's thread (its one core,
    kernel time of the socket writes included) and wall time, per round."""
    from starlette.websockets import WebSocket, WebSocketState

    from kstock.broker import Message
    from kstock.stream.wire import Prepared

    room = list(hub.rooms[f"price:{FANOUT_CODE}"])
    sockets = []
    for connection in room:
        websocket = WebSocket({"type": "websocket", "path": "/ws/stocks", "headers": []}, _no_receive, connection.send)
        websocket.application_state = WebSocketState.CONNECTED
        sockets.append(websocket)
    figures: dict[str, list[float]] = {}
    for key in ("ours", "starlette", "asgi", "floor"):
        figures[f"{key}_cpu"], figures[f"{key}_wall"] = [], []
    for number in range(rounds):
        data = orjson.dumps({"current_price": 70_000 + number * 100, "volume": number})
        hub.on_message(Message(f"price:{FANOUT_CODE}", 1_000_000 + number, data))
        wall, cpu = time.perf_counter(), time.thread_time()
        hub.flush()
        figures["ours_cpu"].append(len(room) / (time.thread_time() - cpu))
        figures["ours_wall"].append(len(room) / (time.perf_counter() - wall))
        await asyncio.sleep(0.5)
        text = orjson.dumps({"type": "price_update", "stock_code": FANOUT_CODE, "data": orjson.loads(data)}).decode()
        wall, cpu = time.perf_counter(), time.thread_time()
        for websocket in sockets:
            await websocket.send_text(text)
        figures["starlette_cpu"].append(len(room) / (time.thread_time() - cpu))
        figures["starlette_wall"].append(len(room) / (time.perf_counter() - wall))
        await asyncio.sleep(0.5)
        wall, cpu = time.perf_counter(), time.thread_time()
        for connection in room:
            await connection.send({"type": "websocket.send", "text": text})
        figures["asgi_cpu"].append(len(room) / (time.thread_time() - cpu))
        figures["asgi_wall"].append(len(room) / (time.perf_counter() - wall))
        await asyncio.sleep(0.5)
        frame = Prepared(text).frame
        transports = [connection.wire._transport for connection in room]
        wall, cpu = time.perf_counter(), time.thread_time()
        for transport in transports:
            transport.write(frame)
        figures["floor_cpu"].append(len(room) / (time.thread_time() - cpu))
        figures["floor_wall"].append(len(room) / (time.perf_counter() - wall))
        await asyncio.sleep(0.5)
    return figures


async def _no_receive() -> Any:
    raise RuntimeError("the naive baseline only sends")


async def run_instance(args: argparse.Namespace, compression: bool, measure_all: bool) -> dict[str, Any]:
    from kstock.config import Settings
    from kstock.state import state_of_app

    prefix = f"kstock-bench:{uuid.uuid4().hex[:8]}:"
    settings = Settings(
        database_url=dataset_url(args.stocks, 1, "stream"),
        redis_url=REDIS_URL,
        redis_prefix=prefix,
        rate_limit_enabled=False,
        log_level="WARNING",
        ws_compression=compression,
        ws_heartbeat_s=30,
        snapshot_refresh_s=0,
    )
    await ensure_dataset(settings, args.stocks, 1)
    report: dict[str, Any] = {}
    async with Instance(settings) as instance:
        hub = state_of_app(instance.app).hub
        token = await token_for(instance.app, instance.port)
        codes = [c for c in state_of_app(instance.app).market_snapshot.table.codes if c != FANOUT_CODE][:LATENCY_STOCKS]
        subscriptions = [[FANOUT_CODE, codes[i % len(codes)]] for i in range(args.connections)]
        gc.collect()
        await asyncio.sleep(1.0)
        before = rss_bytes()
        url = f"ws://127.0.0.1:{instance.port}/ws/stocks?token={token}"
        processes, ready, results, stop = start_clients(url, args.connections, args.clients, subscriptions, compression)
        opened = await wait_ready(ready, args.clients)
        await settle(hub, opened)
        gc.collect()
        await asyncio.sleep(1.0)
        after = rss_bytes()
        report["connections"] = len(hub.connections)
        report["rss_per_connection_kb"] = (after - before) / max(1, len(hub.connections)) / 1024
        report["rss_total_mb"] = after / 1024 / 1024
        if measure_all:
            fanout_room = hub.rooms[f"price:{FANOUT_CODE}"]
            report["wire"] = type(next(iter(fanout_room)).wire).__name__
            report["direct"] = len(fanout_room.direct)
            report["fanout"] = await measure_fanout(hub, args.rounds)
            ctx = mp.get_context("spawn")
            done = ctx.Queue()
            publisher = ctx.Process(
                target=publisher_process, args=(REDIS_URL, prefix, codes, args.rate, args.seconds, done), daemon=True
            )
            publisher.start()
            while publisher.is_alive():  # noqa: ASYNC110 - a process
                await asyncio.sleep(0.2)
            report["published"] = done.get(timeout=10)
            await asyncio.sleep(1.0)
        stop.set()
        latencies: list[float] = []
        frames = 0
        for _ in processes:
            while True:
                try:
                    part, received = results.get_nowait()
                    break
                except Exception:  # queue.Empty
                    await asyncio.sleep(0.2)
            latencies.extend(part)
            frames += received
        for process in processes:
            process.join(timeout=30)
        report["latencies_ms"] = latencies
        report["frames"] = frames
    return report


def summary(values: Sequence[float]) -> str:
    return f"median {statistics.median(values):,.0f}  p99-low {percentile(values, 1):,.0f}"


async def main_async(args: argparse.Namespace) -> None:
    raise_fd_limit()
    print(f"machine: {machine()}")
    print(f"connections: {args.connections} over {args.clients} client processes, loopback, one API instance")
    off = await run_instance(args, compression=False, measure_all=True)
    print(
        f"wire: {off['wire']} (prepared frames straight to the socket); "
        f"{off['direct']} of {off['connections']} connections written to directly"
    )
    print(
        f"RSS per idle connection, compression off: {off['rss_per_connection_kb']:.1f} KB "
        f"({off['connections']} connections, instance RSS {off['rss_total_mb']:.0f} MB)  target <= 20 KB"
    )
    fanout = off["fanout"]
    print(f"fan-out of one update to {off['connections']} subscribers, frames/s of the event loop's core:")
    labels = {
        "ours": "hub flush (prepared frames)",
        "starlette": "naive: await WebSocket.send_text each",
        "asgi": "naive: await bare ASGI send each",
        "floor": "floor: transport.write only",
    }
    for key, label in labels.items():
        print(f"  {label:<40} CPU {summary(fanout[key + '_cpu'])}   wall {summary(fanout[key + '_wall'])}")
    for key in ("starlette", "asgi"):
        ratio = statistics.median(fanout["ours_cpu"]) / statistics.median(fanout[key + "_cpu"])
        wall_ratio = statistics.median(fanout["ours_wall"]) / statistics.median(fanout[key + "_wall"])
        print(f"  hub flush / {labels[key]}: {ratio:.2f}x CPU, {wall_ratio:.2f}x wall (median)  target >= 1.5x")
    print("  target: hub flush >= 50,000 frames/s per core")
    latencies = off["latencies_ms"]
    print(
        f"delivery latency at {off['connections']} connections and {args.rate} updates/s "
        f"({off['published']} published, {len(latencies)} received): "
        f"p50 {statistics.median(latencies):.1f} ms  p99 {percentile(latencies, 99):.1f} ms  "
        f"max {max(latencies):.1f} ms  target p99 < 100 ms"
    )
    if not args.skip_compression:
        on = await run_instance(args, compression=True, measure_all=False)
        print(
            f"RSS per idle connection, compression on: {on['rss_per_connection_kb']:.1f} KB "
            f"({on['connections']} connections, instance RSS {on['rss_total_mb']:.0f} MB)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--connections", type=int, default=10_000)
    parser.add_argument("--clients", type=int, default=4, help="client processes")
    parser.add_argument("--rate", type=int, default=2_000, help="updates per second into the broker")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of the latency run")
    parser.add_argument("--rounds", type=int, default=15, help="fan-out rounds")
    parser.add_argument("--stocks", type=int, default=2_500)
    parser.add_argument("--skip-compression", action="store_true")
    args = parser.parse_args()
    import uvloop

    uvloop.run(main_async(args))


if __name__ == "__main__":
    main()
