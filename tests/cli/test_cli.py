"""The ``kstock`` command end to end on the selected backend."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner, Result

from kstock.cli.main import app
from kstock.config import get_settings
from kstock.db import migrate
from kstock.db.engine import create_engine
from kstock.identity.models import User
from kstock.market.models import DailyBar, Instrument
from tests.support.databases import DatabaseFactory


def invoke(monkeypatch: pytest.MonkeyPatch, url: str, *args: str) -> Result:
    monkeypatch.setenv("KSTOCK_DATABASE_URL", url)
    get_settings.cache_clear()
    try:
        return CliRunner().invoke(app, list(args))
    finally:
        get_settings.cache_clear()


async def run(monkeypatch: pytest.MonkeyPatch, url: str, *args: str) -> Result:
    # The commands call asyncio.run themselves: give them a thread without a running loop.
    return await asyncio.to_thread(invoke, monkeypatch, url, *args)


async def count(url: str, model: type[Instrument] | type[DailyBar]) -> int:
    engine = create_engine(get_settings().model_copy(update={"database_url": url}))
    try:
        async with engine.connect() as connection:
            return int((await connection.execute(select(func.count()).select_from(model))).scalar_one())
    finally:
        await engine.dispose()


async def test_db_upgrade_current_downgrade(monkeypatch: pytest.MonkeyPatch, db_factory: DatabaseFactory) -> None:
    url = await db_factory.url("cli_db")
    upgraded = await run(monkeypatch, url, "db", "upgrade")
    assert upgraded.exit_code == 0, upgraded.output
    current = await run(monkeypatch, url, "db", "current")
    assert f"current: {migrate.head_revision()}" in current.output
    downgraded = await run(monkeypatch, url, "db", "downgrade", "base")
    assert downgraded.exit_code == 0, downgraded.output
    assert "current: none" in (await run(monkeypatch, url, "db", "current")).output


async def test_data_demo_then_refuses_to_overwrite(
    monkeypatch: pytest.MonkeyPatch, db_factory: DatabaseFactory
) -> None:
    url = await db_factory.url("cli_demo")
    made = await run(monkeypatch, url, "data", "demo", "--stocks", "20", "--years", "1", "--seed", "3")
    assert made.exit_code == 0, made.output
    instruments = await count(url, Instrument)
    assert instruments >= 20
    again = await run(monkeypatch, url, "data", "demo", "--stocks", "20", "--years", "1")
    assert again.exit_code != 0
    assert await count(url, Instrument) == instruments
    replaced = await run(monkeypatch, url, "data", "demo", "--stocks", "25", "--years", "1", "--replace")
    assert replaced.exit_code == 0, replaced.output
    assert await count(url, Instrument) >= 25


async def test_import_commands_report_and_exit_codes(
    monkeypatch: pytest.MonkeyPatch, db_factory: DatabaseFactory, tmp_path: Path
) -> None:
    url = await db_factory.url("cli_import")
    listing = tmp_path / "listing.csv"
    listing.write_text(
        ",Code,Name,Market,Sector,Industry,Products,ListingDate,SettleMonth,Representative,HomePage,Region\n"
        "0,005930,삼성전자,KOSPI,,반도체 제조업,반도체,1975-06-11,12월,,,\n",
        encoding="utf-8-sig",
    )
    prices = tmp_path / "prices.csv"
    prices.write_text(
        "code,date,open,high,low,close,volume\n"
        "005930,2025-01-02,53100,53900,52900,53400,15000\n"
        "005930,2025-01-03,53400,55000,53300,54800,20000\n",
        encoding="utf-8",
    )
    monkeypatch.chdir(tmp_path)
    assert (await run(monkeypatch, url, "data", "import-listing", str(listing))).exit_code == 0
    loaded = await run(monkeypatch, url, "data", "import-prices", str(prices))
    assert loaded.exit_code == 0, loaded.output
    assert await count(url, DailyBar) == 2
    broken = tmp_path / "broken.csv"
    broken.write_text("code,date,open,high\n005930,2025-01-06,1,2\n", encoding="utf-8")
    failed = await run(monkeypatch, url, "data", "import-prices", str(broken))
    assert failed.exit_code == 1
    assert await count(url, DailyBar) == 2
    missing = await run(monkeypatch, url, "data", "import-prices", str(tmp_path / "nope.csv"))
    assert missing.exit_code == 2


async def test_serve_refuses_production_with_default_secret(
    monkeypatch: pytest.MonkeyPatch, db_factory: DatabaseFactory
) -> None:
    monkeypatch.setenv("KSTOCK_ENV", "production")
    result = await run(monkeypatch, await db_factory.url("cli_serve"), "serve")
    assert result.exit_code == 2
    assert "KSTOCK_SECRET_KEY" in result.output


async def test_serve_refuses_a_bad_cost_schedule(monkeypatch: pytest.MonkeyPatch, db_factory: DatabaseFactory) -> None:
    # Trading checks its own setting; serve runs that check before any worker starts.
    monkeypatch.setenv("KSTOCK_TRADING_COSTS", '{"taxes": [{"market": "NYSE"}]}')
    result = await run(monkeypatch, await db_factory.url("cli_serve_costs"), "serve")
    assert result.exit_code == 2
    assert "KSTOCK_TRADING_COSTS is not a valid cost schedule" in result.output


async def test_users_create_admin(monkeypatch: pytest.MonkeyPatch, db_factory: DatabaseFactory) -> None:
    url = await db_factory.url("cli_admin")
    monkeypatch.setenv("KSTOCK_ADMIN_PASSWORD", "a-long-admin-passphrase")
    created = await run(monkeypatch, url, "users", "create-admin", "Root@Example.com", "--name", "Root")
    assert created.exit_code == 0, created.output
    assert "admin root@example.com created" in created.output
    again = await run(monkeypatch, url, "users", "create-admin", "root@example.com")
    assert again.exit_code == 1
    engine = create_engine(get_settings().model_copy(update={"database_url": url}))
    try:
        async with engine.connect() as connection:
            row = (await connection.execute(select(User.tier, User.role).where(User.email == "root@example.com"))).one()
    finally:
        await engine.dispose()
    assert (row.tier, row.role) == ("pro", "admin")
