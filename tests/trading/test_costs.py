"""Trading costs: hand-computed commissions and taxes, truncation to the won, the dated tax schedule looked up on
the settlement date, KONEX, minimum commissions and schedules built from settings."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kstock.trading.costs import (
    KRX_TAX_RATES,
    CommissionRate,
    Costs,
    CostSchedule,
    ScheduleError,
    Side,
    TaxRate,
    net_cash_change,
    tax_rate,
    trade_costs,
)

D = dt.date


def test_sell_on_kospi_in_2025_pays_only_the_rural_special_tax() -> None:
    # 10 shares at 71,000: 710,000 KRW; 0.015% commission; 0.00% + 0.15% tax (settles 2025-06-04).
    costs = trade_costs(Side.SELL, "KOSPI", 710_000, D(2025, 6, 2))
    assert costs == Costs(commission=106, transaction_tax=0, rural_tax=1_065)
    assert (costs.tax, costs.total) == (1_065, 1_171)
    assert net_cash_change(Side.SELL, 710_000, costs) == 708_829


def test_a_buy_pays_commission_and_no_tax() -> None:
    costs = trade_costs("buy", "KOSPI", 710_000, D(2025, 6, 2))
    assert costs == Costs(commission=106)
    assert costs.tax == 0
    assert net_cash_change("buy", 710_000, costs) == -710_106


def test_each_tax_is_truncated_to_the_won_on_its_own() -> None:
    # 2023 KOSPI: 0.05% + 0.15%. 1,234,567 x 0.0005 = 617.28 -> 617; x 0.0015 = 1,851.85 -> 1,851.
    costs = trade_costs(Side.SELL, "KOSPI", 1_234_567, D(2023, 6, 1))
    assert costs == Costs(commission=185, transaction_tax=617, rural_tax=1_851)
    assert costs.tax == 2_468  # one won less than truncating the 0.20% sum (2,469.13)


@pytest.mark.parametrize(
    ("market", "trade_date", "amount", "tax"),
    [
        ("KOSDAQ", D(2023, 3, 2), 1_000_000, 2_000),  # 0.20%
        ("KOSDAQ", D(2024, 3, 4), 1_000_000, 1_800),  # 0.18%
        ("KOSDAQ", D(2025, 3, 4), 1_000_000, 1_500),  # 0.15%
        ("KOSDAQ", D(2026, 3, 3), 1_000_000, 2_000),  # 0.20% again
        ("KOSPI", D(2024, 3, 4), 1_000_000, 1_800),  # 0.03% + 0.15%
        ("KOSPI", D(2026, 3, 3), 1_000_000, 2_000),  # 0.05% + 0.15%
        ("KONEX", D(2024, 3, 4), 1_000_000, 1_000),  # 0.10%
        ("KONEX", D(2026, 3, 3), 333_333, 333),  # 333.333 -> 333
    ],
)
def test_tax_by_market_and_year(market: str, trade_date: dt.date, amount: int, tax: int) -> None:
    assert trade_costs(Side.SELL, market, amount, trade_date).tax == tax


def test_konex_and_kosdaq_have_no_rural_special_tax() -> None:
    for market in ("KOSDAQ", "KONEX"):
        costs = trade_costs(Side.SELL, market, 5_000_000, D(2025, 6, 2))
        assert costs.rural_tax == 0
        assert costs.transaction_tax > 0


@pytest.mark.parametrize(
    ("last_old", "first_new", "old_pct", "new_pct"),
    [
        # The year-end closure pushes the settlement of the last days of December into January.
        (D(2020, 12, 28), D(2020, 12, 29), "0.25", "0.23"),
        (D(2022, 12, 27), D(2022, 12, 28), "0.23", "0.20"),
        (D(2023, 12, 26), D(2023, 12, 27), "0.20", "0.18"),
        (D(2024, 12, 26), D(2024, 12, 27), "0.18", "0.15"),
        (D(2025, 12, 26), D(2025, 12, 29), "0.15", "0.20"),
    ],
)
def test_a_rate_change_applies_to_sales_settling_from_its_effective_date(
    last_old: dt.date, first_new: dt.date, old_pct: str, new_pct: str
) -> None:
    assert tax_rate("KOSPI", last_old).total_pct == Decimal(old_pct)
    assert tax_rate("KOSPI", first_new).total_pct == Decimal(new_pct)


def test_the_2019_cut_applied_to_sales_made_from_2019_05_30() -> None:
    # Thursday 2019-05-30 settled on Monday 2019-06-03, the first day of the schedule.
    rate = tax_rate("KOSPI", D(2019, 5, 30))
    assert (rate.transaction_pct, rate.rural_pct) == (Decimal("0.10"), Decimal("0.15"))
    assert tax_rate("KONEX", D(2019, 5, 30)).total_pct == Decimal("0.10")


def test_rates_by_settlement_date() -> None:
    schedule = CostSchedule()
    assert schedule.tax_rate_on_settlement("KOSPI", D(2025, 12, 30)).total_pct == Decimal("0.15")
    rate = schedule.tax_rate_on_settlement("KOSPI", D(2026, 1, 2))
    assert (rate.transaction_pct, rate.rural_pct) == (Decimal("0.05"), Decimal("0.15"))
    assert schedule.tax_rate_on_settlement("KOSDAQ", D(2026, 1, 1)).total_pct == Decimal("0.20")


def test_no_rate_before_the_schedule_or_for_an_unknown_market() -> None:
    with pytest.raises(ScheduleError, match="2019-05-31"):
        tax_rate("KOSPI", D(2019, 5, 29))  # settles 2019-05-31
    with pytest.raises(ScheduleError, match="NYSE"):
        tax_rate("NYSE", D(2025, 6, 2))
    # Buys need no tax rate.
    assert trade_costs(Side.BUY, "KOSPI", 1_000_000, D(2019, 5, 29)).commission == 150


def test_minimum_commission() -> None:
    schedule = CostSchedule.flat_commission("0.015", minimum=1_000)
    assert trade_costs(Side.BUY, "KOSPI", 100_000, D(2025, 6, 2), schedule).commission == 1_000  # 15 -> 1,000
    assert trade_costs(Side.BUY, "KOSPI", 10_000_000, D(2025, 6, 2), schedule).commission == 1_500
    assert trade_costs(Side.BUY, "KOSPI", 0, D(2025, 6, 2), schedule) == Costs()  # nothing traded, nothing due


def test_dated_commissions() -> None:
    schedule = CostSchedule(
        commissions=[
            CommissionRate(D(2020, 1, 1), Decimal("0.015")),
            CommissionRate(D(2025, 1, 2), Decimal("0.0036396"), minimum=10),
        ]
    )
    assert trade_costs(Side.BUY, "KOSPI", 10_000_000, D(2024, 12, 30), schedule).commission == 1_500
    assert trade_costs(Side.BUY, "KOSPI", 10_000_000, D(2025, 1, 2), schedule).commission == 363  # 363.96
    assert trade_costs(Side.BUY, "KOSPI", 1_000, D(2025, 1, 2), schedule).commission == 10
    with pytest.raises(ScheduleError):
        trade_costs(Side.BUY, "KOSPI", 1_000, D(2019, 12, 31), schedule)


def test_float_rates_are_taken_at_their_decimal_value() -> None:
    rate = CommissionRate(D(2020, 1, 1), 0.015)  # type: ignore[arg-type]
    assert rate.rate_pct == Decimal("0.015")
    # 700,000 x 0.015% is exactly 105: a binary float product could land on 104.99999.
    assert rate.commission(700_000) == 105


def test_custom_tax_schedule() -> None:
    schedule = CostSchedule(taxes=[TaxRate(D(2000, 1, 1), "KOSPI", Decimal("0.1"), Decimal("0.2"))])
    assert trade_costs(Side.SELL, "KOSPI", 1_000_000, D(2025, 6, 2), schedule) == Costs(150, 1_000, 2_000)
    with pytest.raises(ScheduleError):
        trade_costs(Side.SELL, "KOSDAQ", 1_000_000, D(2025, 6, 2), schedule)


def test_schedule_from_mapping() -> None:
    schedule = CostSchedule.from_mapping(
        {
            "commissions": [{"effective": "2020-01-01", "rate_pct": "0.01", "minimum": 100}],
            "taxes": [
                {"effective": "2020-01-01", "market": "KOSPI", "transaction_pct": "0.05", "rural_pct": "0.15"},
                {"effective": D(2020, 1, 1), "market": "KOSDAQ", "transaction_pct": 0.2},
            ],
        }
    )
    assert trade_costs(Side.SELL, "KOSPI", 2_000_000, D(2025, 6, 2), schedule) == Costs(200, 1_000, 3_000)
    assert trade_costs(Side.SELL, "KOSDAQ", 2_000_000, D(2025, 6, 2), schedule) == Costs(200, 4_000, 0)
    # KONEX, not named, keeps the KRX schedule (0.10% since 2019-06-03).
    assert trade_costs(Side.SELL, "KONEX", 2_000_000, D(2025, 6, 2), schedule) == Costs(200, 2_000, 0)
    # Only the commissions given: the KRX tax schedule stays.
    only = CostSchedule.from_mapping({"commissions": [{"effective": "2020-01-01", "rate_pct": 0.02}]})
    assert only.taxes == tuple(sorted(KRX_TAX_RATES, key=lambda t: (t.market, t.effective)))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"fees": []}, "unknown cost schedule keys: fees"),
        ({"commissions": {"rate_pct": 1}}, "expected a list"),
        ({"commissions": [{"effective": "2020-01-01", "rate_pct": "0.01", "max": 1}]}, "unknown keys max"),
        ({"commissions": [{"effective": "2020-13-01", "rate_pct": "0.01"}]}, "ISO date"),
        ({"commissions": [{"effective": "2020-01-01", "rate_pct": "abc"}]}, "not a rate"),
        ({"commissions": [{"effective": "2020-01-01", "rate_pct": "-0.1"}]}, r"\[0, 100\)"),
        ({"commissions": [{"effective": "2020-01-01", "rate_pct": True}]}, "not a rate"),
        ({"commissions": [{"effective": "2020-01-01", "rate_pct": "0.01", "minimum": -1}]}, "minimum"),
        ({"commissions": []}, "at least one commission"),
        (
            {"commissions": [{"effective": "2020-01-01", "rate_pct": 1}, {"effective": "2020-01-01", "rate_pct": 2}]},
            "two commission rates for 2020-01-01",
        ),
        ({"taxes": [{"effective": "2020-01-01", "market": "NYSE", "transaction_pct": 1}]}, "unknown market"),
        (
            {
                "taxes": [
                    {"effective": "2020-01-01", "market": "KOSPI", "transaction_pct": 1},
                    {"effective": "2020-01-01", "market": "KOSPI", "transaction_pct": 2},
                ]
            },
            "two tax rates for KOSPI 2020-01-01",
        ),
    ],
)
def test_bad_schedules_are_refused(data: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        CostSchedule.from_mapping(data)


@pytest.mark.parametrize("amount", [-1, 1.5, True])
def test_amounts_are_non_negative_integers(amount: object) -> None:
    with pytest.raises(ValueError, match="non-negative integer"):
        trade_costs(Side.BUY, "KOSPI", amount, D(2025, 6, 2))  # type: ignore[arg-type]


def test_costs_add_up() -> None:
    assert Costs(1, 2, 3) + Costs(10, 20, 30) == Costs(11, 22, 33)
    assert Costs(1, 2, 3).to_dict() == {"commission": 1, "transaction_tax": 2, "rural_tax": 3, "tax": 5, "total": 6}


@given(st.integers(min_value=0, max_value=10**13))
def test_default_rates_match_integer_arithmetic(amount: int) -> None:
    costs = trade_costs(Side.SELL, "KOSPI", amount, D(2025, 6, 2))
    assert costs.commission == amount * 15 // 100_000
    assert costs.rural_tax == amount * 15 // 10_000
    assert costs.transaction_tax == 0
    kosdaq = trade_costs(Side.SELL, "KOSDAQ", amount, D(2026, 3, 3))
    assert kosdaq.transaction_tax == amount * 20 // 10_000


def test_a_bad_cost_schedule_stops_the_server_at_start() -> None:
    from kstock.app import create_app
    from kstock.config import ConfigurationError, Settings

    with pytest.raises(ConfigurationError, match="KSTOCK_TRADING_COSTS"):
        create_app(Settings(trading_costs='{"taxes": [{"market": "NYSE"}]}'))
    with pytest.raises(ConfigurationError, match="KSTOCK_TRADING_COSTS"):
        create_app(Settings(trading_costs="not json"))
    create_app(Settings(trading_costs='{"commissions": [{"effective": "2020-01-01", "rate_pct": "0.01"}]}'))
