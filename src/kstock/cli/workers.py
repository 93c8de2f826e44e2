"""Several server processes on one port, each with its own listening socket (``SO_REUSEPORT``).

With one shared socket (uvicorn's own ``--workers``), whichever process wakes first accepts a burst of new
connections: 32 keep-alive clients connecting at once were seen split 31/1 between two workers, one of them
idle while the other queued. With a socket per process the kernel hashes each connection to a process, so
connections spread evenly. Used where the platform has ``SO_REUSEPORT`` (Linux, the BSDs); uvicorn's workers
otherwise.

The parent only supervises: it stops every worker on SIGINT or SIGTERM, and if one worker dies it stops the
others and exits with an error, leaving the restart to the service manager (systemd, Kubernetes, ...).
"""

from __future__ import annotations

import multiprocessing
import signal
import socket
import sys
import time
from multiprocessing.process import BaseProcess
from types import FrameType

APP = "kstock.app:create_app_from_env"


def supported() -> bool:
    return hasattr(socket, "SO_REUSEPORT")


def _listening_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(2048)
    return sock


def _worker(host: str, port: int) -> None:
    import uvicorn

    from kstock.cli.server import uvicorn_options
    from kstock.config import get_settings

    config = uvicorn.Config(APP, **uvicorn_options(get_settings()))
    uvicorn.Server(config).run(sockets=[_listening_socket(host, port)])


def run(host: str, port: int, workers: int) -> int:
    """Run ``workers`` server processes until a signal or a worker's death; the exit status."""
    context = multiprocessing.get_context("spawn")
    processes: list[BaseProcess] = [
        context.Process(target=_worker, args=(host, port), name=f"kstock-worker-{i}") for i in range(workers)
    ]
    stopping = False

    def stop(signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        for process in processes:
            process.start()
        while not stopping and all(p.is_alive() for p in processes):
            time.sleep(0.2)
        failed = not stopping
    finally:
        for process in processes:
            if process.is_alive():
                process.terminate()  # uvicorn shuts down gracefully on SIGTERM
        for process in processes:
            process.join(timeout=30)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if failed:
        print("a worker process exited; stopping the others", file=sys.stderr)  # noqa: T201
        return 1
    return 0
