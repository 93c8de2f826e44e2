"""GET /v1/stocks/{code}/prices and /financials against hand-computed figures."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest

from kstock.kit.calendar import today_kst
from tests.market.test_stocks_api import get_json
from tests.support.seed import SAMSUNG_BARS

RANGE = "from_date=2024-12-01&to_date=2025-01-31"


def bar(day: str, open_: int, high: int, low: int, close: int, volume: int) -> dict[str, object]:
    return {"trade_date": day, "open": open_, "high": high, "low": low, "close": close, "volume": volume}


async def test_daily_prices_in_range(client: httpx.AsyncClient) -> None:
    body = await get_json(client, f"/v1/stocks/005930/prices?{RANGE}")
    assert body["stock_code"] == "005930"
    assert body["interval"] == "daily"
    assert body["from_date"] == "2024-12-01"
    assert body["to_date"] == "2025-01-31"
    assert body["prices"] == [bar(d.isoformat(), o, h, lo, c, v) for d, o, h, lo, c, v in SAMSUNG_BARS]


async def test_weekly_bars_follow_iso_weeks(client: httpx.AsyncClient) -> None:
    # 2024-12-30 (a Monday) opens ISO week 2025-W01 although it is in December.
    body = await get_json(client, f"/v1/stocks/005930/prices?{RANGE}&interval=weekly")
    assert body["prices"] == [
        bar("2024-12-27", 53_500, 54_500, 52_900, 53_000, 42_000),
        bar("2025-01-03", 53_000, 55_000, 52_800, 54_800, 43_000),
        bar("2025-01-10", 54_800, 56_500, 53_200, 53_400, 90_000),
    ]


async def test_monthly_bars(client: httpx.AsyncClient) -> None:
    body = await get_json(client, f"/v1/stocks/005930/prices?{RANGE}&interval=MONTHLY")
    assert body["interval"] == "monthly"
    assert body["prices"] == [
        bar("2024-12-30", 53_500, 54_500, 52_800, 53_100, 50_000),
        bar("2025-01-10", 53_100, 56_500, 52_900, 53_400, 125_000),
    ]


async def test_fields_pick_the_fields_of_each_bar(client: httpx.AsyncClient) -> None:
    full = await get_json(client, f"/v1/stocks/005930/prices?{RANGE}&interval=weekly")
    picked = await get_json(client, f"/v1/stocks/005930/prices?{RANGE}&interval=weekly&fields=volume,close")
    assert picked["prices"] == [
        {"trade_date": b["trade_date"], "close": b["close"], "volume": b["volume"]} for b in full["prices"]
    ]
    assert {k: v for k, v in picked.items() if k != "prices"} == {k: v for k, v in full.items() if k != "prices"}
    # Each selection is cached on its own: asking again, or for everything again, answers the same.
    again = await client.get(f"/v1/stocks/005930/prices?{RANGE}&interval=weekly&fields=volume,close")
    assert (again.headers["x-cache"], again.json()) == ("HIT", picked)
    assert await get_json(client, f"/v1/stocks/005930/prices?{RANGE}&interval=weekly") == full


async def test_unknown_bar_field_is_400(client: httpx.AsyncClient) -> None:
    body = await get_json(client, f"/v1/stocks/005930/prices?{RANGE}&fields=close,vwap", 400)
    assert list(body["details"]) == ["fields"]
    assert "vwap" in body["details"]["fields"][0]


async def test_range_bounds_are_inclusive(client: httpx.AsyncClient) -> None:
    body = await get_json(client, "/v1/stocks/005930/prices?from_date=2024-12-26&to_date=2024-12-27")
    assert [p["trade_date"] for p in body["prices"]] == ["2024-12-26", "2024-12-27"]


async def test_default_range_is_the_last_year(client: httpx.AsyncClient) -> None:
    today = today_kst()
    body = await get_json(client, "/v1/stocks/005930/prices")
    assert body["to_date"] == today.isoformat()
    assert dt.date.fromisoformat(body["from_date"]) in {
        today.replace(year=today.year - 1) if (today.month, today.day) != (2, 29) else dt.date(today.year - 1, 2, 28)
    }
    assert body["prices"] == []  # the hand-made bars are older than a year


async def test_from_after_to_is_422(client: httpx.AsyncClient) -> None:
    body = await get_json(client, "/v1/stocks/005930/prices?from_date=2025-02-01&to_date=2025-01-01", 422)
    assert body["error"] == "INVALID_DATE_RANGE"
    assert body["details"] == {"from_date": ["must not be after to_date (2025-01-01)"]}


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ("from_date=2025-13-01", "from_date", "must be a date (YYYY-MM-DD)"),
        ("to_date=yesterday", "to_date", "must be a date (YYYY-MM-DD)"),
        ("interval=hourly", "interval", "must be one of: daily, weekly, monthly"),
    ],
)
async def test_prices_reject_bad_parameters(client: httpx.AsyncClient, query: str, field: str, message: str) -> None:
    body = await get_json(client, f"/v1/stocks/005930/prices?{query}", 400)
    assert body["details"] == {field: [message]}


async def test_prices_of_unknown_stock_is_404(client: httpx.AsyncClient) -> None:
    body = await get_json(client, f"/v1/stocks/000001/prices?{RANGE}", 404)
    assert body["error"] == "STOCK_NOT_FOUND"


async def test_prices_of_known_stock_without_bars_is_empty(client: httpx.AsyncClient) -> None:
    body = await get_json(client, f"/v1/stocks/005935/prices?{RANGE}")
    assert body["prices"] == []


async def test_annual_financials(client: httpx.AsyncClient) -> None:
    body = await get_json(client, "/v1/stocks/005930/financials?period_type=annual")
    assert body["stock_code"] == "005930"
    assert body["period_type"] == "annual"
    assert body["financials"] == [
        {
            "fiscal_year": 2023,
            "fiscal_quarter": None,
            "report_date": "2024-03-20",
            "revenue": 258_900_000_000_000,
            "operating_profit": 6_570_000_000_000,
            "net_profit": 15_490_000_000_000,
            "eps": 2_131,
            "bps": 52_002,
            "dps": 1_444,
            "roe": round(15_490 / 363_680 * 100, 2),
            "operating_margin": round(6_570 / 258_900 * 100, 2),
            "net_margin": round(15_490 / 258_900 * 100, 2),
        }
    ]


async def test_quarterly_financials_newest_first_with_annualised_roe(client: httpx.AsyncClient) -> None:
    body = await get_json(client, "/v1/stocks/005930/financials?period_type=quarterly&years=5")
    periods = [(f["fiscal_year"], f["fiscal_quarter"]) for f in body["financials"]]
    assert periods == [(2024, 4), (2024, 3), (2024, 2), (2024, 1), (2023, 4)]
    q3 = body["financials"][1]
    assert q3["roe"] == round(7_800 * 4 / 300_000 * 100, 2) == 10.4
    assert q3["dps"] is None
    one_year = await get_json(client, "/v1/stocks/005930/financials?period_type=quarterly&years=1")
    assert [f["fiscal_year"] for f in one_year["financials"]] == [2024] * 4


async def test_financials_default_to_quarterly(client: httpx.AsyncClient) -> None:
    body = await get_json(client, "/v1/stocks/005930/financials")
    assert body["period_type"] == "quarterly"
    assert body == await get_json(client, "/v1/stocks/005930/financials?period_type=quarterly")
    assert {f["fiscal_quarter"] for f in body["financials"]} == {1, 2, 3, 4}


@pytest.mark.parametrize(
    ("query", "field"), [("years=11", "years"), ("years=0", "years"), ("period_type=monthly", "period_type")]
)
async def test_financials_reject_bad_parameters(client: httpx.AsyncClient, query: str, field: str) -> None:
    body = await get_json(client, f"/v1/stocks/005930/financials?{query}", 400)
    assert list(body["details"]) == [field]


async def test_financials_of_unknown_stock_is_404_and_empty_for_known(client: httpx.AsyncClient) -> None:
    assert (await get_json(client, "/v1/stocks/000001/financials", 404))["error"] == "STOCK_NOT_FOUND"
    assert (await get_json(client, "/v1/stocks/035420/financials"))["financials"] == []


async def test_absurd_span_is_422(client: httpx.AsyncClient) -> None:
    body = await get_json(client, "/v1/stocks/005930/prices?from_date=1900-01-01&to_date=2025-01-01", 422)
    assert body["error"] == "INVALID_DATE_RANGE"
    assert body["details"] == {"from_date": ["must be within 50 years of to_date"]}
