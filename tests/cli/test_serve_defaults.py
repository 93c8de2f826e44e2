"""`kstock serve` as deployed: production's defaults (no /docs, /metrics on its own port, JSON logs, no
server banner) and development's generated signing key, in real server processes."""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import stat
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from bench.server import free_port, wait_ready


def start(tmp_path: Path, port: int, **env: str) -> subprocess.Popen[bytes]:
    kstock = Path(sys.executable).parent / "kstock"
    inherited = {name: value for name, value in os.environ.items() if name != "KSTOCK_SECRET_KEY"}
    return subprocess.Popen(  # noqa: S603 - our own command
        [str(kstock), "serve", "--port", str(port)],
        env={**inherited, "KSTOCK_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'serve.db'}", **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def stop(process: subprocess.Popen[bytes]) -> str:
    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=30)
    return output.decode("utf-8", "replace")


def get(url: str, **headers: str) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 - loopback
    try:
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
            return response.status, {k.lower(): v for k, v in response.headers.items()}, response.read()
    except urllib.error.HTTPError as error:
        return error.code, {k.lower(): v for k, v in error.headers.items()}, error.read()


@pytest.mark.slow
def test_production_serves_no_docs_and_metrics_only_on_their_own_port(tmp_path: Path) -> None:
    port, metrics_port = free_port(), free_port()
    process = start(
        tmp_path,
        port,
        KSTOCK_ENV="production",
        KSTOCK_SECRET_KEY=secrets.token_urlsafe(48),
        KSTOCK_METRICS_PORT=str(metrics_port),
        KSTOCK_LOG_LEVEL="INFO",
    )
    try:
        wait_ready(port)
        api = f"http://127.0.0.1:{port}"
        assert get(f"{api}/docs")[0] == 404
        assert get(f"{api}/docs/assets/swagger-ui-bundle.js")[0] == 404
        status, headers, _ = get(f"{api}/metrics")
        assert status == 404
        assert "server" not in headers
        assert headers["x-content-type-options"] == "nosniff"
        status, _, body = get(f"http://127.0.0.1:{metrics_port}/metrics")
        assert status == 200
        assert b"kstock_http_requests_total" in body
        get(f"{api}/health?token=do-not-log-me")
    finally:
        output = stop(process)
    assert not (tmp_path / ".kstock-secret").exists()
    access = [json.loads(line) for line in output.splitlines() if '"http_request"' in line]
    assert access, output
    assert {"method", "path", "status", "duration_ms", "request_id"} <= set(access[0])
    assert "do-not-log-me" not in output


@pytest.mark.slow
def test_development_signs_with_a_key_made_on_first_start(tmp_path: Path) -> None:
    port = free_port()
    env = {"KSTOCK_ENV": "development", "KSTOCK_LOG_LEVEL": "WARNING"}
    process = start(tmp_path, port, **env)
    try:
        wait_ready(port)
        assert get(f"http://127.0.0.1:{port}/docs")[0] == 200
    finally:
        stop(process)
    key_file = tmp_path / ".kstock-secret"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    key = key_file.read_text().strip()
    assert len(key) >= 64
    process = start(tmp_path, port, **env)  # a restart keeps the key
    try:
        wait_ready(port)
    finally:
        stop(process)
    assert key_file.read_text().strip() == key


@pytest.mark.slow
def test_a_taken_metrics_port_stops_the_start_with_a_message(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        process = start(tmp_path, free_port(), KSTOCK_METRICS_PORT=str(taken.getsockname()[1]))
        output, _ = process.communicate(timeout=60)
    assert process.returncode == 2
    assert b"cannot serve metrics" in output
