"""Import the real KRX files (skipped where the data bundle is absent)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from kstock.market.importers import import_listing, import_prices
from kstock.market.sectors import SECTORS

DESC = "listing/krx_desc_2026-03-20.csv"
MARCAP = "listing/krx_quotes_marcap_2026-03-20.csv"
TOP30 = "ohlcv_2y/kospi_top30_ohlcv_20231205_20250617.csv"
DELISTING = "listing/krx_delisting_2026-03-20.csv"


async def test_real_listing_then_top30_prices(clean_engine: AsyncEngine, krx_data_dir: Path, tmp_path: Path) -> None:
    desc = await import_listing(
        clean_engine, krx_data_dir / DESC, batch_size=1000, progress=None, rejects_path=tmp_path / "r1.csv"
    )
    marcap = await import_listing(
        clean_engine, krx_data_dir / MARCAP, batch_size=100_000, progress=None, rejects_path=tmp_path / "r2.csv"
    )

    assert (desc.rows_read, desc.inserted, len(desc.rejected)) == (2879, 2879, 0)
    assert (marcap.rows_read, marcap.inserted, marcap.updated, len(marcap.rejected)) == (2879, 0, 2879, 0)
    async with clean_engine.connect() as connection:
        by_market: dict[str, int] = dict(
            (await connection.execute(text("SELECT market, COUNT(*) FROM instruments GROUP BY market"))).all()
        )
        global_count = (
            await connection.execute(text("SELECT COUNT(*) FROM instruments WHERE segment = 'KOSDAQ GLOBAL'"))
        ).scalar()
        sectors: dict[str, str] = dict(
            (
                await connection.execute(
                    text(
                        "SELECT industry, sector FROM instruments WHERE industry IS NOT NULL GROUP BY industry, sector"
                    )
                )
            ).all()
        )
        unclassified = (
            await connection.execute(text("SELECT COUNT(*) FROM instruments WHERE sector IS NULL"))
        ).scalar()
        samsung = (
            await connection.execute(
                text(
                    "SELECT sector, isin, shares_outstanding, settle_month FROM instruments"
                    " WHERE code IN ('005930', '005935') ORDER BY code"
                )
            )
        ).all()
        missing_shares = (
            await connection.execute(
                text("SELECT COUNT(*) FROM instruments WHERE isin IS NULL OR shares_outstanding IS NULL")
            )
        ).scalar()
    assert by_market == {"KOSPI": 951, "KOSDAQ": 1766 + 52, "KONEX": 110}
    assert global_count == 52
    assert len(sectors) == 162  # the README's 163 distinct values include the empty one
    assert set(sectors.values()) <= set(SECTORS)
    # Preferred shares listed without an industry take their common share's, so every stock has a sector.
    assert unclassified == 0
    assert [tuple(row) for row in samsung] == [
        ("전기전자", "KR7005930003", 5919637922, 12),
        ("전기전자", "KR7005931001", 815974664, None),
    ]
    assert missing_shares == 0

    prices = await import_prices(
        clean_engine, krx_data_dir / TOP30, batch_size=5000, progress=None, rejects_path=tmp_path / "r3.csv"
    )

    assert prices.ok
    assert (prices.rows_read, prices.inserted, prices.halted) == (11_100, 11_098, 18)
    assert prices.reject_counts() == {"OHLC inconsistent": 2}
    async with clean_engine.connect() as connection:
        bar = (
            await connection.execute(
                text("SELECT open, high, low, close, volume FROM daily_bars WHERE code = '005930' AND trade_date = :d"),
                {"d": dt.date(2025, 6, 17)},
            )
        ).one()
        halted = (
            await connection.execute(
                text("SELECT open, high, low, close, volume FROM daily_bars WHERE code = '012450' AND trade_date = :d"),
                {"d": dt.date(2024, 8, 29)},
            )
        ).one()
        indicator = (
            await connection.execute(text("SELECT close_price, market_cap FROM stock_indicators WHERE code = '005930'"))
        ).one()
        indicator_count = (await connection.execute(text("SELECT COUNT(*) FROM stock_indicators"))).scalar()
    assert tuple(bar) == (57800, 59800, 57400, 58450, 16906454)
    assert tuple(halted) == (295411, 295411, 295411, 295411, 0)
    assert tuple(indicator) == (58450, 58450 * 5919637922)
    assert indicator_count == 30


async def test_real_delisting_file_adds_delisted_stocks_only(
    clean_engine: AsyncEngine, krx_data_dir: Path, tmp_path: Path
) -> None:
    await import_listing(
        clean_engine, krx_data_dir / DESC, batch_size=10_000, progress=None, rejects_path=tmp_path / "a"
    )

    summary = await import_listing(
        clean_engine, krx_data_dir / DELISTING, batch_size=10_000, progress=None, rejects_path=tmp_path / "b.csv"
    )

    assert summary.kind == "KRX delisting"
    assert (summary.rows_read, summary.inserted, summary.updated) == (4104, 2315, 0)
    # Rights, warrants and funds (수익증권) are not stocks; 12 rows repeat an earlier row.
    assert summary.reject_counts() == {"not a stock": 1777, "duplicate code": 12}
    async with clean_engine.connect() as connection:
        statuses: dict[str, int] = dict(
            (await connection.execute(text("SELECT status, COUNT(*) FROM instruments GROUP BY status"))).all()
        )
    assert statuses == {"active": 2879, "delisted": 2315}
