"""A `kstock serve` process for the HTTP benchmarks: on a free port, ready before use, stopped on exit."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

# Request limits off, as for any load test; the rest of the gateway (authentication, audit, metrics) stays on.
LOAD_TEST_ENV = {"KSTOCK_LOG_LEVEL": "WARNING", "KSTOCK_RATE_LIMIT_ENABLED": "false"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_ready(port: int, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/ready", timeout=2) as response:  # noqa: S310
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("server did not become ready")


@contextmanager
def serving(url: str, env: Mapping[str, str], workers: int = 1) -> Iterator[int]:
    """`kstock serve` over the database at ``url`` with ``env`` added to this process's environment; yields the
    port once ``/ready`` answers."""
    port = free_port()
    kstock = Path(sys.executable).parent / "kstock"
    process = subprocess.Popen(  # noqa: S603 - our own command
        [str(kstock), "serve", "--port", str(port), "--workers", str(workers)],
        env={**os.environ, "KSTOCK_DATABASE_URL": url, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_ready(port)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=30)
