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
from dataclasses import dataclass
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


@dataclass(frozen=True)
class Server:
    """A running `kstock serve`: its port and the process id of its parent (the only process with one worker)."""

    port: int
    pid: int

    def cpu_seconds(self) -> float | None:
        """CPU time (user + system) used so far by the server and its worker processes; None off Linux."""
        try:
            return _tree_cpu_seconds(self.pid)
        except OSError:
            return None


def _tree_cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    total = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    for task in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{task}/children", encoding="ascii") as handle:
            for child in handle.read().split():
                try:
                    total += _tree_cpu_seconds(int(child))
                except OSError:  # a child that has just exited
                    pass
    return total


@contextmanager
def serving(url: str, env: Mapping[str, str], workers: int = 1) -> Iterator[int]:
    """`kstock serve` over the database at ``url`` with ``env`` added to this process's environment; yields the
    port once ``/ready`` answers."""
    with server_process(url, env, workers) as server:
        yield server.port


@contextmanager
def server_process(url: str, env: Mapping[str, str], workers: int = 1) -> Iterator[Server]:
    """:func:`serving`, yielding the port and the process."""
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
        yield Server(port, process.pid)
    finally:
        process.terminate()
        process.wait(timeout=30)
