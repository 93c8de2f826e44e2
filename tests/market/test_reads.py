"""What other domains read of the market: the snapshot's previous close, date and category values, a day's range
and a range of closes from the repository (portfolio valuation and ledger checks, the stream's first price, the
screener's field catalog)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from kstock.config import Settings
from kstock.db.engine import create_engine
from kstock.errors import ServiceUnavailableError
from kstock.market import repository
from kstock.market.snapshot import MarketSnapshot
from tests.support.seed import OTHER_BARS, SAMSUNG_BARS


async def test_the_snapshot_answers_a_previous_close_and_its_date(market_settings: Settings) -> None:
    snapshot = MarketSnapshot()
    with pytest.raises(ServiceUnavailableError):
        snapshot.require_loaded()
    engine = create_engine(market_settings)
    try:
        await snapshot.load(engine)
    finally:
        await engine.dispose()
    snapshot.require_loaded()
    assert snapshot.as_of == dt.date(2025, 1, 10)
    assert snapshot.previous_close("005930") == SAMSUNG_BARS[-2][4]
    assert snapshot.previous_close("000660") == 193_000
    assert snapshot.previous_close("035420") is None  # one bar on file: no previous close
    assert snapshot.previous_close("999999") is None  # not listed
    assert snapshot.category_labels("market") == snapshot.values_of("market")
    assert snapshot.category_labels("sector") == sorted(snapshot.category_labels("sector"))


async def test_the_repository_answers_a_days_range_and_closes(market_settings: Settings) -> None:
    engine = create_engine(market_settings)
    try:
        async with engine.connect() as connection:
            async with AsyncSession(bind=connection) as session:
                assert await repository.day_range(session, "005930", dt.date(2025, 1, 3)) == (53_300, 55_000)
                assert await repository.day_range(session, "005930", dt.date(2025, 1, 4)) is None
                closes = await repository.closes(
                    session, ["005930", "000660", "999999"], dt.date(2025, 1, 8), dt.date(2025, 1, 9)
                )
    finally:
        await engine.dispose()
    assert dict(closes) == {
        "005930": [(dt.date(2025, 1, 8), 54_600), (dt.date(2025, 1, 9), 55_100)],
        "000660": [(OTHER_BARS[0][1], OTHER_BARS[0][5])],
    }
