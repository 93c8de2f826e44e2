"""The KRX trading calendar against real KRX data: published holidays and the days stocks actually traded."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import pytest

from kstock.kit.calendar import is_holiday, is_trading_day, previous_trading_day, today_kst, trading_days

# Weekdays KRX closed at short notice; the FinanceDataReader holiday list misses them (see the data README).
AD_HOC_CLOSURES = [dt.date(2024, 4, 10), dt.date(2024, 10, 1), dt.date(2025, 1, 27), dt.date(2025, 6, 3)]


def _dates(path: Path, column: str) -> set[dt.date]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return {dt.date.fromisoformat(row[column]) for row in csv.DictReader(handle)}


def test_published_holidays_since_2010_are_not_trading_days(krx_data_dir: Path) -> None:
    holidays = {day for day in _dates(krx_data_dir / "calendar" / "holidays-krx.csv", "date") if day.year >= 2010}
    weekdays = sorted(day for day in holidays if day.weekday() < 5)
    assert len(weekdays) > 100  # the file really covers 2010 onwards
    assert [day for day in weekdays if is_trading_day(day)] == []


def test_trading_days_match_the_days_stocks_traded(krx_data_dir: Path) -> None:
    traded = _dates(krx_data_dir / "ohlcv_2y" / "kospi_top30_ohlcv_20231205_20250617.csv", "date")
    ours = trading_days(dt.date(2023, 12, 5), dt.date(2025, 6, 17))
    assert len(ours) == len(set(ours))
    assert set(ours) == traded


@pytest.mark.parametrize("day", AD_HOC_CLOSURES)
def test_ad_hoc_closures_are_holidays(day: dt.date) -> None:
    assert day.weekday() < 5
    assert is_holiday(day)
    assert not is_trading_day(day)


def test_weekends_and_year_end_are_closed() -> None:
    assert not is_trading_day(dt.date(2025, 6, 14))  # Saturday
    assert not is_trading_day(dt.date(2025, 6, 15))  # Sunday
    assert not is_trading_day(dt.date(2024, 12, 31))  # year-end closure
    assert is_trading_day(dt.date(2025, 1, 2))


def test_trading_days_are_ascending_weekdays() -> None:
    days = trading_days(dt.date(2024, 1, 1), dt.date(2024, 12, 31))
    assert days == sorted(days)
    assert all(day.weekday() < 5 for day in days)
    assert 240 <= len(days) <= 250


def test_previous_trading_day() -> None:
    assert previous_trading_day(dt.date(2025, 6, 3)) == dt.date(2025, 6, 2)  # election day -> Monday
    assert previous_trading_day(dt.date(2025, 6, 2)) == dt.date(2025, 6, 2)
    assert previous_trading_day(dt.date(2025, 6, 2), inclusive=False) == dt.date(2025, 5, 30)
    assert previous_trading_day(dt.date(2025, 1, 1)) == dt.date(2024, 12, 30)


def test_today_kst_is_near_utc_today() -> None:
    utc_today = dt.datetime.now(dt.UTC).date()
    assert abs((today_kst() - utc_today).days) <= 1
