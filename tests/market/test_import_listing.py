"""Listing import on crafted files: desc, marcap and delisting formats, merging, rejects, idempotence."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from kstock.market.importers import ImportSummary, import_listing
from tests.market.test_importer import DESC_HEADER, DESC_ROWS, MARCAP_HEADER, MARCAP_ROWS, write_csv

DELISTING_HEADER = (
    ",Symbol,Name,Market,SecuGroup,Kind,ListingDate,DelistingDate,Reason,ArrantEnforceDate,ArrantEndDate,"
    "Industry,ParValue,ListingShares,ToSymbol,ToName"
)


async def listing(engine: AsyncEngine, path: Path, batch_size: int = 1000) -> ImportSummary:
    return await import_listing(
        engine, path, batch_size=batch_size, progress=None, rejects_path=path.with_name(f"rejects-{path.name}")
    )


async def instrument(engine: AsyncEngine, code: str) -> dict[str, Any]:
    async with engine.connect() as connection:
        row = (
            await connection.execute(
                text(
                    "SELECT name, market, segment, sector, industry, listing_date, settle_month, isin,"
                    " shares_outstanding, status, delisting_date FROM instruments WHERE code = :code"
                ),
                {"code": code},
            )
        ).one()
    values = dict(row._mapping)
    for key in ("listing_date", "delisting_date"):
        values[key] = str(values[key]) if values[key] is not None else None
    return values


@pytest.mark.parametrize("order", ["desc-then-marcap", "marcap-then-desc"])
async def test_desc_and_marcap_fill_their_own_columns_in_either_order(
    clean_engine: AsyncEngine, tmp_path: Path, order: str
) -> None:
    desc = write_csv(tmp_path / "krx_desc.csv", DESC_HEADER, DESC_ROWS, bom=True)
    marcap = write_csv(tmp_path / "krx_marcap.csv", MARCAP_HEADER, MARCAP_ROWS, bom=True)
    files = [desc, marcap] if order == "desc-then-marcap" else [marcap, desc]

    summaries = [await listing(clean_engine, path) for path in files]

    assert [s.kind for s in summaries] == (
        ["KRX desc", "KRX marcap"] if order == "desc-then-marcap" else ["KRX marcap", "KRX desc"]
    )
    assert await instrument(clean_engine, "005930") == {
        "name": "삼성전자",
        "market": "KOSPI",
        "segment": None,
        "sector": "전기전자",
        "industry": "반도체 제조업",
        "listing_date": "1975-06-11",
        "settle_month": 12,
        "isin": "KR7005930003",
        "shares_outstanding": 5919637922,
        "status": "active",
        "delisting_date": None,
    }
    global_stock = await instrument(clean_engine, "035760")
    assert (global_stock["market"], global_stock["segment"], global_stock["sector"]) == (
        "KOSDAQ",
        "KOSDAQ GLOBAL",
        "서비스업",
    )
    # The preferred share has no industry of its own in the file: it takes its common share's.
    preferred = await instrument(clean_engine, "005935")
    assert (preferred["sector"], preferred["industry"], preferred["isin"]) == (
        "전기전자",
        "반도체 제조업",
        "KR7005931001",
    )


async def test_listing_reimport_is_a_no_op_and_changes_count_as_updates(
    clean_engine: AsyncEngine, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "krx_desc.csv", DESC_HEADER, DESC_ROWS)
    first = await listing(clean_engine, path)
    second = await listing(clean_engine, path)
    renamed = [DESC_ROWS[0].replace("삼성전자,KOSPI", "삼성전자(신),KOSPI"), *DESC_ROWS[1:]]
    third = await listing(clean_engine, write_csv(path, DESC_HEADER, renamed), batch_size=1)

    assert (first.inserted, first.updated, first.unchanged) == (4, 0, 0)
    assert (second.inserted, second.updated, second.unchanged) == (0, 0, 4)
    assert (third.inserted, third.updated, third.unchanged) == (0, 1, 3)
    assert (await instrument(clean_engine, "005930"))["name"] == "삼성전자(신)"


async def test_listing_rejects_bad_rows_with_reasons(clean_engine: AsyncEngine, tmp_path: Path) -> None:
    rows = [
        DESC_ROWS[0],
        "1,5930,짧은코드,KOSPI,,반도체 제조업,,2000-01-01,12월,,,",
        "2,111110,어딘가,NYSE,,반도체 제조업,,2000-01-01,12월,,,",
        "3,111120,결산이상,KOSPI,,반도체 제조업,,2000-01-01,13월,,,",
        "4,111130,날짜이상,KOSPI,,반도체 제조업,,01/02/2000,12월,,,",
        "5,111140,,KOSPI,,반도체 제조업,,2000-01-01,12월,,,",
        "6,111150,칸부족,KOSPI",
        DESC_ROWS[0].replace("0,005930", "7,005930"),
        "8,111160,새업종,KONEX,일반기업부,우주 관광업,,2020-01-01,6월,,,",
        f"9,111170,{'가' * 201},KOSPI,,반도체 제조업,,2000-01-01,12월,,,",
    ]
    path = write_csv(tmp_path / "krx_desc.csv", DESC_HEADER, rows)

    summary = await listing(clean_engine, path)

    assert summary.ok
    assert (summary.rows_read, summary.inserted) == (10, 2)
    assert {r.line: (r.code, r.reason) for r in summary.rejected} == {
        3: ("5930", "bad code"),
        4: ("111110", "unknown market"),
        5: ("111120", "bad settle month"),
        6: ("111130", "unknown date format"),
        7: ("111140", "missing name"),
        8: ("111150", "wrong column count"),
        9: ("005930", "duplicate code"),
        11: ("111170", "value too long"),
    }
    konex = await instrument(clean_engine, "111160")
    assert (konex["market"], konex["segment"], konex["sector"], konex["settle_month"]) == (
        "KONEX",
        "일반기업부",
        "기타",
        6,
    )


async def test_marcap_rejects_an_isin_owned_by_another_code(clean_engine: AsyncEngine, tmp_path: Path) -> None:
    await listing(clean_engine, write_csv(tmp_path / "m1.csv", MARCAP_HEADER, MARCAP_ROWS))
    clash = MARCAP_ROWS[0].replace("0,005930,", "0,111110,").replace(",삼성전자,", ",다른회사,")
    rows = [
        clash,
        "1,111120,KR7BAD,이상,KOSPI,,1,1,1,1,1,1,1,1,1,1,10,STK",
        "2,111130,,음수,KOSPI,,1,1,1,1,1,1,1,1,1,1,-5,STK",
    ]

    summary = await listing(clean_engine, write_csv(tmp_path / "m2.csv", MARCAP_HEADER, rows))

    assert [(r.code, r.reason) for r in summary.rejected] == [
        ("111110", "ISIN used by another code"),
        ("111120", "bad ISIN"),
        ("111130", "negative shares"),
    ]
    assert summary.inserted == 0


async def test_delisting_adds_delisted_stocks_and_respects_reused_codes(
    clean_engine: AsyncEngine, tmp_path: Path
) -> None:
    await listing(clean_engine, write_csv(tmp_path / "desc.csv", DESC_HEADER, DESC_ROWS))
    rows = [
        "0,028740,경성전기,KOSPI,주권,,1956-03-03,1961-06-30,기간종료,,,,,,,",
        "1,0119301N,신성이엔지14R,KOSPI,신주인수권증서,,2002-05-01,2002-06-12,,,,,,,,",
        "2,005930,옛삼성,KOSPI,주권,,1960-01-01,1970-01-01,,,,,,,,",  # before today's 005930 listed in 1975
        "3,0126Z0,삼성에피스홀딩스,KOSPI,주권,,2025-11-24,2026-01-05,합병,,,,,,,",
        "4,028740,경성전기,KOSPI,주권,,1956-03-03,1961-06-30,기간종료,,,,,,,",
    ]
    path = write_csv(tmp_path / "krx_delisting.csv", DELISTING_HEADER, rows, bom=True)

    summary = await listing(clean_engine, path)
    again = await listing(clean_engine, path)

    assert summary.kind == "KRX delisting"
    assert (summary.inserted, summary.updated) == (1, 1)
    assert {r.line: r.reason for r in summary.rejected} == {
        3: "not a stock",
        4: "code reused by a later listing",
        6: "duplicate code",
    }
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 2)
    old = await instrument(clean_engine, "028740")
    assert (old["status"], old["delisting_date"], old["listing_date"]) == ("delisted", "1961-06-30", "1956-03-03")
    assert (await instrument(clean_engine, "005930"))["status"] == "active"
    merged = await instrument(clean_engine, "0126Z0")
    assert (merged["status"], merged["delisting_date"], merged["name"]) == (
        "delisted",
        "2026-01-05",
        "삼성에피스홀딩스",
    )

    # A current listing that names a delisted code again makes it active.
    relisted = await listing(clean_engine, write_csv(tmp_path / "desc2.csv", DESC_HEADER, DESC_ROWS))
    assert relisted.updated == 1
    assert (await instrument(clean_engine, "0126Z0"))["status"] == "active"


async def test_an_unknown_listing_header_is_fatal(clean_engine: AsyncEngine, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "prices.csv", "code,date,open,high,low,close,volume", ["005930,2024-01-02,1,1,1,1,1"])

    summary = await listing(clean_engine, path)

    assert summary.fatal is not None
    assert "not a KRX listing file" in summary.fatal
    assert not summary.ok
    async with clean_engine.connect() as connection:
        assert (await connection.execute(text("SELECT COUNT(*) FROM instruments"))).scalar() == 0
