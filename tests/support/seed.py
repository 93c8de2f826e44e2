"""A small hand-made market whose every figure can be computed by hand."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import insert

from kstock.config import Settings
from kstock.db import migrate
from kstock.db.engine import create_engine
from kstock.market.indicators import recompute_indicators
from kstock.market.models import DailyBar, FinancialStatement, Instrument

D = dt.date

INSTRUMENTS: list[dict[str, Any]] = [
    {
        "code": "005930",
        "isin": "KR7005930003",
        "name": "삼성전자",
        "name_en": "Samsung Electronics",
        "market": "KOSPI",
        "sector": "전기전자",
        "industry": "반도체",
        "listing_date": D(1975, 6, 11),
        "shares_outstanding": 5_969_782_550,
        "status": "active",
    },
    {
        "code": "005935",
        "isin": "KR7005931001",
        "name": "삼성전자우",
        "name_en": "Samsung Electronics (1P)",
        "market": "KOSPI",
        "sector": "전기전자",
        "industry": "반도체",
        "listing_date": D(1989, 9, 25),
        "shares_outstanding": 822_886_700,
        "status": "active",
    },
    {
        "code": "000660",
        "isin": "KR7000660001",
        "name": "SK하이닉스",
        "name_en": "SK hynix",
        "market": "KOSPI",
        "sector": "전기전자",
        "industry": "반도체",
        "listing_date": D(1996, 12, 26),
        "shares_outstanding": 728_002_365,
        "status": "active",
    },
    {
        "code": "035420",
        "isin": "KR7035420009",
        "name": "NAVER",
        "name_en": "NAVER",
        "market": "KOSPI",
        "sector": "서비스업",
        "industry": "인터넷",
        "listing_date": D(2002, 10, 29),
        "shares_outstanding": 158_437_008,
        "status": "active",
    },
    {
        "code": "0126Z0",
        "isin": None,
        "name": "테스트바이오",
        "name_en": None,
        "market": "KOSDAQ",
        "segment": "벤처기업부",
        "sector": "의약품",
        "industry": "바이오",
        "listing_date": D(2024, 7, 1),
        "shares_outstanding": 10_000_000,
        "status": "active",
    },
    {
        "code": "123450",
        "isin": None,
        "name": "코넥스테크",
        "name_en": "Konex Tech",
        "market": "KONEX",
        "segment": "일반기업부",
        "sector": "기계",
        "industry": "로봇",
        "listing_date": D(2020, 3, 2),
        "shares_outstanding": 2_000_000,
        "status": "active",
    },
    {
        "code": "999990",
        "isin": None,
        "name": "폐지전자",
        "name_en": None,
        "market": "KOSDAQ",
        "sector": "전기전자",
        "industry": "전자부품",
        "listing_date": D(2001, 1, 2),
        "shares_outstanding": None,
        "status": "delisted",
    },
]

# 005930: three weeks across a month end (2024-12-31 and 2025-01-01 are KRX holidays).
SAMSUNG_BARS: list[tuple[dt.date, int, int, int, int, int]] = [
    (D(2024, 12, 23), 53_500, 54_000, 53_000, 53_800, 10_000),
    (D(2024, 12, 24), 53_800, 54_400, 53_600, 54_400, 12_000),
    (D(2024, 12, 26), 54_400, 54_500, 53_500, 53_600, 11_000),
    (D(2024, 12, 27), 53_600, 53_700, 52_900, 53_000, 9_000),
    (D(2024, 12, 30), 53_000, 53_500, 52_800, 53_100, 8_000),
    (D(2025, 1, 2), 53_100, 53_900, 52_900, 53_400, 15_000),
    (D(2025, 1, 3), 53_400, 55_000, 53_300, 54_800, 20_000),
    (D(2025, 1, 6), 54_800, 56_500, 54_700, 56_300, 25_000),
    (D(2025, 1, 7), 56_300, 56_400, 55_100, 55_400, 18_000),
    (D(2025, 1, 8), 55_400, 55_500, 54_500, 54_600, 16_000),
    (D(2025, 1, 9), 54_600, 55_300, 54_300, 55_100, 14_000),
    (D(2025, 1, 10), 55_100, 55_200, 53_200, 53_000 + 400, 17_000),
]

OTHER_BARS: list[tuple[str, dt.date, int, int, int, int, int]] = [
    ("000660", D(2025, 1, 9), 190_000, 195_000, 189_000, 193_000, 3_000_000),
    ("000660", D(2025, 1, 10), 193_000, 199_900, 192_000, 199_900, 4_000_000),
    ("035420", D(2025, 1, 10), 210_000, 212_000, 205_500, 206_500, 500_000),
    ("0126Z0", D(2025, 1, 10), 1_999, 2_000, 1_950, 1_990, 123_456),
    ("123450", D(2025, 1, 10), 4_995, 5_000, 4_900, 4_950, 1_000),
]


def _statement(year: int, quarter: int, **figures: int) -> dict[str, Any]:
    report = D(year + 1, 3, 20) if quarter in (0, 4) else D(year, quarter * 3 + 1, 30)
    return {
        "code": "005930",
        "period_type": "annual" if quarter == 0 else "quarterly",
        "fiscal_year": year,
        "fiscal_quarter": quarter,
        "report_date": report,
        "dps": None,
        **figures,
    }


# Quarterly EPS 1,000 + 1,200 + 1,300 + 1,500 = 5,000 (TTM); BPS 50,000; annual DPS 1,400.
SAMSUNG_STATEMENTS: list[dict[str, Any]] = [
    _statement(
        2023,
        0,
        revenue=258_900_000_000_000,
        operating_profit=6_570_000_000_000,
        net_profit=15_490_000_000_000,
        total_equity=363_680_000_000_000,
        eps=2_131,
        bps=52_002,
        dps=1_444,
    ),
    _statement(
        2023,
        4,
        revenue=67_780_000_000_000,
        operating_profit=2_820_000_000_000,
        net_profit=6_340_000_000_000,
        total_equity=363_680_000_000_000,
        eps=900,
        bps=48_000,
    ),
    _statement(
        2024,
        1,
        revenue=71_920_000_000_000,
        operating_profit=6_610_000_000_000,
        net_profit=6_000_000_000_000,
        total_equity=300_000_000_000_000,
        eps=1_000,
        bps=48_500,
    ),
    _statement(
        2024,
        2,
        revenue=74_070_000_000_000,
        operating_profit=10_440_000_000_000,
        net_profit=7_200_000_000_000,
        total_equity=300_000_000_000_000,
        eps=1_200,
        bps=49_000,
    ),
    _statement(
        2024,
        3,
        revenue=79_100_000_000_000,
        operating_profit=9_180_000_000_000,
        net_profit=7_800_000_000_000,
        total_equity=300_000_000_000_000,
        eps=1_300,
        bps=49_500,
    ),
    # Reported 2025-03-20, after the last bar: it must not count yet.
    _statement(
        2024,
        4,
        revenue=75_000_000_000_000,
        operating_profit=6_500_000_000_000,
        net_profit=9_000_000_000_000,
        total_equity=300_000_000_000_000,
        eps=1_500,
        bps=50_000,
    ),
]
# The Q4 2023 report is dated 2024-03-20, so the TTM window at 2025-01-10 is 2023Q4..2024Q3.
TTM_EPS = 900 + 1_000 + 1_200 + 1_300
TTM_NET_PROFIT = 6_340_000_000_000 + 6_000_000_000_000 + 7_200_000_000_000 + 7_800_000_000_000


async def seed_market(settings: Settings) -> None:
    """Create the schema and load the hand-made market."""
    engine = create_engine(settings)
    await migrate.upgrade(engine)
    async with engine.begin() as connection:
        # executemany takes its columns from the first row: give every row every key.
        await connection.execute(insert(Instrument), [{"segment": None, **row} for row in INSTRUMENTS])
        bars = [
            {"code": "005930", "trade_date": d, "open": o, "high": h, "low": lo, "close": c, "volume": v}
            for d, o, h, lo, c, v in SAMSUNG_BARS
        ] + [
            {"code": code, "trade_date": d, "open": o, "high": h, "low": lo, "close": c, "volume": v}
            for code, d, o, h, lo, c, v in OTHER_BARS
        ]
        await connection.execute(insert(DailyBar), bars)
        await connection.execute(insert(FinancialStatement), SAMSUNG_STATEMENTS)
        await recompute_indicators(connection)
    await engine.dispose()
