"""What production changes: no /docs unless asked, no anonymous /metrics on the API port, no weak secrets; and
what holds everywhere: credentials never cached, nosniff on every answer, no public signing key in development."""

from __future__ import annotations

import os
import re
import secrets
import stat
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine

from kstock.app import create_app
from kstock.config import DEFAULT_SECRET_KEY, ConfigurationError, Settings, strong_secret
from tests.gateway.helpers import engine_url, gateway_settings, running_app
from tests.support.app import http_client
from tests.support.databases import DatabaseFactory

STRONG = secrets.token_urlsafe(48)


@pytest.mark.parametrize(
    "weak",
    ["a" * 32, "ab" * 32, "0123456789" * 4, "password" * 5, "x" * 100, "short-but-random-3f9", DEFAULT_SECRET_KEY],
)
def test_production_refuses_a_low_entropy_secret(weak: str) -> None:
    assert weak == DEFAULT_SECRET_KEY or not strong_secret(weak)
    with pytest.raises(ConfigurationError, match="KSTOCK_SECRET_KEY"):
        create_app(Settings(env="production", secret_key=weak))


@pytest.mark.parametrize("strong", [STRONG, secrets.token_hex(16), secrets.token_hex(32)])
def test_production_accepts_a_random_secret(strong: str) -> None:
    assert strong_secret(strong)
    create_app(Settings(env="production", secret_key=strong))


def test_the_refusal_does_not_show_the_secret() -> None:
    weak = "Q" * 40
    with pytest.raises(ConfigurationError) as refused:
        create_app(Settings(env="production", secret_key=weak))
    assert weak not in str(refused.value)


def test_production_refuses_a_weak_metrics_token() -> None:
    with pytest.raises(ConfigurationError, match="KSTOCK_METRICS_TOKEN"):
        create_app(Settings(env="production", secret_key=STRONG, metrics_token="metrics"))


def paths(settings: Settings) -> set[str]:
    return {getattr(route, "path", "") for route in create_app(settings).routes}


def dev(tmp_path: Path, **values: object) -> Settings:
    """Development settings whose generated key goes to ``tmp_path``."""
    return Settings(env="development", secret_file=tmp_path / "key", **values)  # type: ignore[arg-type]


def test_docs_are_off_in_production_unless_enabled(tmp_path: Path) -> None:
    assert {"/docs", "/docs/assets"} <= paths(dev(tmp_path))
    assert "/docs" not in paths(Settings(env="production", secret_key=STRONG))
    assert "/docs" in paths(Settings(env="production", secret_key=STRONG, docs_enabled=True))
    assert "/docs" not in paths(Settings(env="testing", docs_enabled=False))
    assert "/redoc" not in paths(dev(tmp_path))


def test_metrics_are_never_anonymous_on_the_api_port_in_production(tmp_path: Path) -> None:
    assert "/metrics" in paths(dev(tmp_path))
    assert "/metrics" not in paths(Settings(env="production", secret_key=STRONG))
    assert "/metrics" in paths(Settings(env="production", secret_key=STRONG, metrics_token=secrets.token_hex(24)))
    # With a port of its own, /metrics is not on the API port at all.
    assert "/metrics" not in paths(dev(tmp_path, metrics_port=9100))


async def test_metrics_token_is_required_when_set(db_factory: DatabaseFactory, clean_engine: AsyncEngine) -> None:
    token = secrets.token_hex(24)
    settings = gateway_settings(db_factory, engine_url(clean_engine), metrics_token=SecretStr(token))
    async with running_app(settings) as app, http_client(app) as http:
        anonymous = await http.get("/metrics")
        wrong = await http.get("/metrics", headers={"Authorization": "Bearer " + "0" * 48})
        right = await http.get("/metrics", headers={"Authorization": f"Bearer {token}"})
    assert anonymous.status_code == 401
    assert anonymous.json()["error"] == "UNAUTHORIZED"
    assert token not in anonymous.text
    assert wrong.status_code == 401
    assert right.status_code == 200
    assert "kstock_http_requests_total" in right.text


async def test_token_answers_are_not_stored_and_every_answer_is_nosniff(
    db_factory: DatabaseFactory, clean_engine: AsyncEngine
) -> None:
    settings = gateway_settings(db_factory, engine_url(clean_engine))
    account = {"email": "nostore@example.kr", "password": "correct-horse-battery", "name": "n"}
    async with running_app(settings) as app, http_client(app) as http:
        registered = await http.post("/v1/auth/register", json=account)
        login = await http.post("/v1/auth/login", json={k: account[k] for k in ("email", "password")})
        refreshed = await http.post("/v1/auth/refresh", json={"refresh_token": login.json()["refresh_token"]})
        bearer = {"Authorization": f"Bearer {refreshed.json()['access_token']}"}
        key = await http.post("/v1/api-keys", json={"name": "bot", "scopes": ["read"]}, headers=bearer)
        failed = await http.post("/v1/auth/login", json={"email": account["email"], "password": "wrong-password-1"})
        health = await http.get("/health")
        missing = await http.get("/v1/nothing-here")
    for response in (registered, login, refreshed, key, failed):
        assert response.headers["cache-control"] == "no-store", response.request.url
    assert registered.status_code == 201
    assert key.status_code == 201
    for response in (registered, login, key, health, missing):
        assert response.headers["x-content-type-options"] == "nosniff"
    assert "cache-control" not in health.headers


def test_development_signs_with_a_generated_key_kept_in_a_private_file(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'dev.db'}"
    first = Settings(env="development", database_url=url)
    create_app(first)
    key_file = tmp_path / ".kstock-secret"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    generated = first.secret_key.get_secret_value()
    assert generated != DEFAULT_SECRET_KEY
    assert strong_secret(generated)
    assert key_file.read_text().strip() == generated
    again = Settings(env="development", database_url=url)
    create_app(again)
    assert again.secret_key.get_secret_value() == generated  # tokens survive a restart


def test_development_keeps_a_key_it_was_given_and_testing_writes_nothing(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'dev.db'}"
    given = Settings(env="development", database_url=url, secret_key=STRONG)
    create_app(given)
    assert given.secret_key.get_secret_value() == STRONG
    create_app(Settings(env="testing", database_url=url))
    assert os.listdir(tmp_path) == []
    elsewhere = tmp_path / "keys" / "signing"
    elsewhere.parent.mkdir()
    custom = Settings(env="development", database_url=url, secret_file=elsewhere)
    create_app(custom)
    assert re.fullmatch(r"[A-Za-z0-9_-]{64}\n", elsewhere.read_text())
