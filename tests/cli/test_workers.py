"""`kstock serve --workers N`: one listening socket per process, all stopped together."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from bench.server import free_port, wait_ready

from kstock.cli import workers

pytestmark = pytest.mark.skipif(not workers.supported(), reason="needs SO_REUSEPORT")


def listeners(port: int) -> set[int]:
    """The pids listening on ``port`` (from /proc, no tools needed)."""
    inodes: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(fields[9])
    pids = set()
    for fd_dir in Path("/proc").glob("[0-9]*/fd"):
        try:
            for fd in fd_dir.iterdir():
                if os.readlink(fd).removeprefix("socket:[").removesuffix("]") in inodes:
                    pids.add(int(fd_dir.parent.name))
        except OSError:
            continue
    return pids


def start(tmp_path: Path, port: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "KSTOCK_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'w.db'}",
        "KSTOCK_LOG_LEVEL": "WARNING",
    }
    kstock = Path(sys.executable).parent / "kstock"
    return subprocess.Popen(  # noqa: S603 - our own command
        [str(kstock), "serve", "--port", str(port), "--workers", "2"], env=env, stdout=subprocess.DEVNULL
    )


@pytest.mark.slow
def test_each_worker_listens_and_a_signal_stops_them_all(tmp_path: Path) -> None:
    port = free_port()
    parent = start(tmp_path, port)
    try:
        wait_ready(port)
        pids = listeners(port)
        assert len(pids) == 2, pids  # one socket per worker process
        assert parent.pid not in pids
        parent.send_signal(signal.SIGTERM)
        assert parent.wait(timeout=30) == 0
        assert listeners(port) == set()
    finally:
        parent.kill()


@pytest.mark.slow
def test_a_dead_worker_stops_the_others_with_an_error(tmp_path: Path) -> None:
    port = free_port()
    parent = start(tmp_path, port)
    try:
        wait_ready(port)
        first, *_ = sorted(listeners(port))
        os.kill(first, signal.SIGKILL)
        assert parent.wait(timeout=30) == 1
        assert listeners(port) == set()
    finally:
        parent.kill()
