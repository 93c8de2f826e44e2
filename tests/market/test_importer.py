"""KRX file import on crafted files: every reject reason, encodings, compression, idempotence, batches, failures."""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import io
import lzma
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from rich.progress import Progress
from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from kstock.db import bulk
from kstock.market.importers import ImportSummary, import_listing, import_prices
from kstock.market.importers import common as importer_common

DESC_HEADER = ",Code,Name,Market,Sector,Industry,Products,ListingDate,SettleMonth,Representative,HomePage,Region"
DESC_ROWS = (
    '0,005930,삼성전자,KOSPI,,반도체 제조업,"휴대폰, 반도체",1975-06-11,12월,전영현,http://www.samsung.com,경기도',
    "1,005935,삼성전자우,KOSPI,,,,1989-09-25,,,,",
    "2,0126Z0,삼성에피스홀딩스,KOSPI,,기타 금융업,지주회사,2025-11-24,12월,김경아,,인천광역시",
    '3,035760,CJ ENM,KOSDAQ GLOBAL,중견기업부,"영화, 비디오물, 방송프로그램 제작 및 배급업",방송,1999-11-24,12월,,,',
)
MARCAP_HEADER = (
    ",Code,ISU_CD,Name,Market,Dept,Close,ChangeCode,Changes,ChagesRatio,"
    "Open,High,Low,Volume,Amount,Marcap,Stocks,MarketId"
)
MARCAP_ROWS = (
    "0,005930,KR7005930003,삼성전자,KOSPI,,199400,2,-1100,-0.55,202000,202500,199000,35279762,1,1,5919637922,STK",
    "1,005935,KR7005931001,삼성전자우,KOSPI,,139200,2,-5000,-3.47,145100,145400,139200,7844733,1,1,815974664,STK",
    "2,035760,KR7035760008,CJ ENM,KOSDAQ GLOBAL,중견기업부,70000,1,100,0.1,1,1,1,1,1,1,21929300,KSQ",
)
PRICE_HEADER = "code,date,open,high,low,close,volume"
GOOD_PRICES = (
    "005930,2024-01-02,78200,79800,78200,79600,17142847",
    "005930,2024-01-03,78500,78800,77000,77000,21753644",
    "005935,2024-01-02,62000,63000,61900,62900,1200000",
    "0126Z0,2025-11-24,90000,95000,89000,94000,300000",
    "0126Z0,2025-11-25,94000,96000,93000,95000,250000",
)
BAR_COLUMNS = "open, high, low, close, volume"


def write_csv(path: Path, header: str, rows: tuple[str, ...] | list[str], *, bom: bool = False) -> Path:
    content = "\n".join([header, *rows]) + "\n"
    path.write_bytes(("\ufeff" if bom else "").encode() + content.encode())
    return path


async def scalar(engine: AsyncEngine, sql: str, **params: Any) -> Any:
    async with engine.connect() as connection:
        return (await connection.execute(text(sql), params)).scalar()


async def bar(engine: AsyncEngine, code: str, day: str) -> tuple[int, ...] | None:
    async with engine.connect() as connection:
        row = (
            await connection.execute(
                text(f"SELECT {BAR_COLUMNS} FROM daily_bars WHERE code = :code AND trade_date = :day"),  # noqa: S608
                {"code": code, "day": dt.date.fromisoformat(day)},
            )
        ).first()
    return tuple(row) if row is not None else None


async def load_listing(engine: AsyncEngine, tmp_path: Path) -> ImportSummary:
    path = write_csv(tmp_path / "krx_desc_test.csv", DESC_HEADER, DESC_ROWS, bom=True)
    summary = await import_listing(engine, path, batch_size=1000, progress=None, rejects_path=tmp_path / "r.csv")
    assert summary.ok, summary.fatal
    return summary


async def prices(engine: AsyncEngine, path: Path, batch_size: int = 1000) -> ImportSummary:
    return await import_prices(
        engine, path, batch_size=batch_size, progress=None, rejects_path=path.with_name(f"rejects-{path.name}.csv")
    )


async def test_every_reject_reason_is_reported_and_written(clean_engine: AsyncEngine, tmp_path: Path) -> None:
    await load_listing(clean_engine, tmp_path)
    rows = [
        "005930,2024-01-02,78200,79800,78200,79600,17142847",  # line 2: valid
        "5930,2024-01-03,78500,78800,77000,77000,100",  # leading zeros lost
        "999990,2024-01-03,78500,78800,77000,77000,100",
        "005930,2024/01/04,78500,78800,77000,77000,100",
        "005930,2024-02-30,78500,78800,77000,77000,100",
        "005930,2024-01-05,76700.5,78800,76000,77000,100",
        "005930,2024-01-08,0,77500,76400,76500,100",  # a zero open that is not a halt day
        "005930,2024-01-09,78000,77000,76000,76500,100",
        "005930,2024-01-10,75000,75200,74000,74700,-1",
        "005930,2024-01-02,78200,79800,78200,79600,1",  # line 11: same code and date as line 2
        "005930,2024-01-11,75000,75200",
        "005930,2024-01-12,75000,75200,74000,74700,1e3",
        "0126Z0,2025-11-24,90000,95000,89000,94000,300000",  # line 14: valid, alphanumeric code
        "005930,2024-01-15,0,0,0,73000,0",  # line 15: halt day
        "0126z0,2025-11-25,90000,95000,89000,94000,300000",  # codes are upper case
    ]
    path = write_csv(tmp_path / "prices.csv", PRICE_HEADER, rows)
    summary = await prices(clean_engine, path)

    assert summary.ok
    assert (summary.rows_read, summary.inserted, summary.halted) == (15, 3, 1)
    assert {reject.line: reject.reason for reject in summary.rejected} == {
        3: "bad code",
        4: "code not in listing",
        5: "unknown date format",
        6: "invalid date",
        7: "non-integer price",
        8: "non-positive price",
        9: "OHLC inconsistent",
        10: "negative volume",
        11: "duplicate (code, date)",
        12: "wrong column count",
        13: "non-integer volume",
        16: "bad code",
    }
    assert summary.reject_counts()["bad code"] == 2
    assert await bar(clean_engine, "005930", "2024-01-02") == (78200, 79800, 78200, 79600, 17142847)
    assert await bar(clean_engine, "005930", "2024-01-15") == (73000, 73000, 73000, 73000, 0)
    assert await bar(clean_engine, "0126Z0", "2025-11-24") == (90000, 95000, 89000, 94000, 300000)

    assert summary.rejects_path is not None
    with summary.rejects_path.open(encoding="utf-8-sig", newline="") as handle:
        written = list(csv.DictReader(handle))
    assert [(int(r["line"]), r["reason"]) for r in written] == [(r.line, r.reason) for r in summary.rejected]
    assert written[0]["raw"] == rows[1]
    assert "line 2" in next(r["detail"] for r in written if r["reason"] == "duplicate (code, date)")

    console = Console(record=True, width=200, file=io.StringIO())
    console.print(summary.as_table())
    shown = console.export_text()
    assert "OHLC inconsistent" in shown
    assert str(summary.rejects_path) in shown


@pytest.mark.parametrize("bom", [True, False])
@pytest.mark.parametrize("compression", ["none", "gz", "xz"])
async def test_encodings_and_compression_give_the_same_bars(
    clean_engine: AsyncEngine, tmp_path: Path, bom: bool, compression: str
) -> None:
    await load_listing(clean_engine, tmp_path)
    plain = write_csv(tmp_path / "prices.csv", PRICE_HEADER, GOOD_PRICES, bom=bom)
    path = plain
    if compression == "gz":
        path = tmp_path / "prices.csv.gz"
        path.write_bytes(gzip.compress(plain.read_bytes()))
    elif compression == "xz":
        path = tmp_path / "prices.csv.xz"
        path.write_bytes(lzma.compress(plain.read_bytes()))

    summary = await prices(clean_engine, path)

    assert summary.ok
    assert not summary.rejected
    assert (summary.rows_read, summary.inserted) == (5, 5)
    assert await bar(clean_engine, "005930", "2024-01-02") == (78200, 79800, 78200, 79600, 17142847)


async def test_other_layouts_compact_dates_and_extra_columns(clean_engine: AsyncEngine, tmp_path: Path) -> None:
    await load_listing(clean_engine, tmp_path)
    long_format = write_csv(
        tmp_path / "005930.csv",
        "date,open,high,low,close,volume,ticker,code,name,interval",
        [
            "20180502,53000,53000,53000,53000,0,005930,005930,삼성전자,D",
            "20180504,53000,53900,51800,51900,39565391,005930,005930,삼성전자,D",
        ],
    )
    top30 = write_csv(
        tmp_path / "top.csv", "code,name,date,open,high,low,close,volume", ["005935,삼성전자우,2024-01-02,1,2,1,2,3"]
    )

    long_summary = await prices(clean_engine, long_format)
    top_summary = await prices(clean_engine, top30)

    assert (long_summary.inserted, top_summary.inserted) == (2, 1)
    assert await bar(clean_engine, "005930", "2018-05-04") == (53000, 53900, 51800, 51900, 39565391)
    assert await bar(clean_engine, "005935", "2024-01-02") == (1, 2, 1, 2, 3)


async def test_reimport_changes_nothing_and_a_changed_row_counts_as_updated(
    clean_engine: AsyncEngine, tmp_path: Path
) -> None:
    await load_listing(clean_engine, tmp_path)
    path = write_csv(tmp_path / "prices.csv", PRICE_HEADER, GOOD_PRICES)
    first = await prices(clean_engine, path)
    second = await prices(clean_engine, path)
    changed = list(GOOD_PRICES)
    changed[1] = "005930,2024-01-03,78500,78800,77000,77100,21753644"
    third = await prices(clean_engine, write_csv(tmp_path / "prices.csv", PRICE_HEADER, changed))

    assert (first.inserted, first.updated, first.unchanged) == (5, 0, 0)
    assert (second.inserted, second.updated, second.unchanged) == (0, 0, 5)
    assert (third.inserted, third.updated, third.unchanged) == (0, 1, 4)
    assert await bar(clean_engine, "005930", "2024-01-03") == (78500, 78800, 77000, 77100, 21753644)
    assert await scalar(clean_engine, "SELECT COUNT(*) FROM daily_bars") == 5


async def test_small_batches_load_everything_and_report_progress(clean_engine: AsyncEngine, tmp_path: Path) -> None:
    await load_listing(clean_engine, tmp_path)
    path = write_csv(tmp_path / "prices.csv", PRICE_HEADER, GOOD_PRICES)
    progress = Progress(console=Console(file=io.StringIO()))

    with progress:
        summary = await import_prices(clean_engine, path, batch_size=2, progress=progress, rejects_path=None)

    assert summary.inserted == 5
    assert await scalar(clean_engine, "SELECT COUNT(*) FROM daily_bars") == 5
    tasks = {task.description: task for task in progress.tasks}
    assert tasks["reading prices.csv"].finished
    assert tasks["writing prices.csv"].completed == 5


def _truncated_xz(tmp_path: Path) -> Path:
    rows = [f"005930,{dt.date(2020, 1, 1) + dt.timedelta(days=i)},100,110,90,105,{i}" for i in range(3000)]
    data = lzma.compress(("\n".join([PRICE_HEADER, *rows]) + "\n").encode())
    path = tmp_path / "broken.csv.xz"
    path.write_bytes(data[: len(data) // 2])
    return path


def _truncated_gz(tmp_path: Path) -> Path:
    data = gzip.compress(("\n".join([PRICE_HEADER, *GOOD_PRICES * 200]) + "\n").encode())
    path = tmp_path / "broken.csv.gz"
    path.write_bytes(data[: len(data) - 20])
    return path


def _no_close_column(tmp_path: Path) -> Path:
    return write_csv(tmp_path / "noclose.csv", "code,date,open,high,low,volume", ["005930,2024-01-04,1,2,1,5"])


def _undecodable(tmp_path: Path) -> Path:
    path = write_csv(tmp_path / "latin1.csv", PRICE_HEADER, GOOD_PRICES)
    path.write_bytes(path.read_bytes() + "005930,2024-01-05,1,2,1,2,3 caf\xe9\n".encode("latin-1"))
    return path


def _empty(tmp_path: Path) -> Path:
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    return path


@pytest.mark.parametrize(
    ("make_file", "message"),
    [
        (_truncated_xz, "EOFError"),
        (_truncated_gz, "EOFError"),
        (_no_close_column, "close"),
        (_undecodable, "UnicodeDecodeError"),
        (_empty, "empty"),
    ],
)
async def test_a_broken_file_writes_nothing(
    clean_engine: AsyncEngine, tmp_path: Path, make_file: Any, message: str
) -> None:
    await load_listing(clean_engine, tmp_path)
    await prices(clean_engine, write_csv(tmp_path / "prices.csv", PRICE_HEADER, GOOD_PRICES[:2]))
    bars_before = await scalar(clean_engine, "SELECT COUNT(*) FROM daily_bars")

    summary = await prices(clean_engine, make_file(tmp_path))

    assert not summary.ok
    assert summary.fatal is not None
    assert message in summary.fatal
    assert summary.inserted == summary.updated == 0
    assert await scalar(clean_engine, "SELECT COUNT(*) FROM daily_bars") == bars_before == 2
    console = Console(record=True, width=300, file=io.StringIO())
    console.print(summary.as_table())
    assert "FAILED" in console.export_text()


async def test_indicators_follow_the_imported_bars_and_shares(clean_engine: AsyncEngine, tmp_path: Path) -> None:
    await load_listing(clean_engine, tmp_path)
    await prices(clean_engine, write_csv(tmp_path / "prices.csv", PRICE_HEADER, GOOD_PRICES))
    marcap = write_csv(tmp_path / "krx_quotes_marcap_test.csv", MARCAP_HEADER, MARCAP_ROWS, bom=True)

    summary = await import_listing(clean_engine, marcap, batch_size=1000, progress=None)

    assert summary.indicators is not None
    async with clean_engine.connect() as connection:
        row = (
            await connection.execute(
                text("SELECT trade_date, close_price, market_cap FROM stock_indicators WHERE code = '005930'")
            )
        ).one()
    assert (str(row.trade_date), row.close_price, row.market_cap) == ("2024-01-03", 77000, 77000 * 5919637922)


async def test_rejects_file_defaults_to_the_working_directory(
    clean_engine: AsyncEngine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    await load_listing(clean_engine, tmp_path)
    monkeypatch.chdir(tmp_path)
    path = write_csv(tmp_path / "krx_all.csv", PRICE_HEADER, ["ABCDEFG,2024-01-02,1,1,1,1,1"])
    xz_path = tmp_path / "krx_all.csv.xz"
    xz_path.write_bytes(lzma.compress(path.read_bytes()))

    summary = await import_prices(clean_engine, xz_path, batch_size=100, progress=None)

    assert summary.rejects_path == tmp_path / "kstock-rejects-krx_all.csv"
    assert summary.rejects_path.read_text(encoding="utf-8-sig").count("bad code") == 1


async def test_rejects_that_cannot_be_recorded_stop_the_import_before_any_write(
    clean_engine: AsyncEngine, tmp_path: Path
) -> None:
    await load_listing(clean_engine, tmp_path)
    path = write_csv(tmp_path / "prices.csv", PRICE_HEADER, [*GOOD_PRICES, "BAD,2024-01-02,1,1,1,1,1"])

    summary = await import_prices(
        clean_engine, path, batch_size=100, progress=None, rejects_path=tmp_path / "missing-dir" / "r.csv"
    )

    assert summary.fatal is not None
    assert "rejects file" in summary.fatal
    assert await scalar(clean_engine, "SELECT COUNT(*) FROM daily_bars") == 0


async def test_a_failed_batch_is_rolled_back_whole_and_stops_the_import(
    clean_engine: AsyncEngine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    await load_listing(clean_engine, tmp_path)
    calls = 0

    async def merge_then_fail_on_second_batch(connection: AsyncConnection, *args: Any, **kwargs: Any) -> Any:
        # The second batch is fully merged, then the database "fails": its transaction must leave no trace.
        nonlocal calls
        calls += 1
        counts = await bulk.merge_rows(connection, *args, **kwargs)
        if calls == 2:
            raise OperationalError("INSERT", {}, Exception("connection lost"))
        return counts

    monkeypatch.setattr(importer_common, "merge_rows", merge_then_fail_on_second_batch)
    path = write_csv(tmp_path / "prices.csv", PRICE_HEADER, GOOD_PRICES)

    summary = await prices(clean_engine, path, batch_size=2)

    assert summary.fatal is not None
    assert "batch 2 of 3" in summary.fatal
    assert (summary.inserted, calls) == (2, 2)
    assert await scalar(clean_engine, "SELECT COUNT(*) FROM daily_bars") == 2
    assert await scalar(clean_engine, "SELECT COUNT(*) FROM stock_indicators") == 1
