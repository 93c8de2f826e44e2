"""Per-order risk checks, each passing and failing, the limits and their validation, and the checks of an order
run together."""

from __future__ import annotations

import datetime as dt

import pytest

from kstock.kit.calendar import KST
from kstock.sources import OrderBook, Phase
from kstock.trading.costs import Side
from kstock.trading.orders import Order, OrderType
from kstock.trading.pricing import price_order
from kstock.trading.risk import (
    AccountSnapshot,
    AccountState,
    CheckResult,
    RiskLimits,
    RiskLimitsError,
    all_passed,
    check_account_state,
    check_cash,
    check_limit_band,
    check_order,
    check_order_rate,
    check_order_value,
    check_position_weight,
    check_sellable,
    check_tick,
    failures,
)

NOW = dt.datetime(2025, 6, 2, 10, 0, tzinfo=KST)
LIMITS = RiskLimits()


def limit_order(side: Side, quantity: int, price: int) -> Order:
    return Order(side, OrderType.LIMIT, quantity, price)


# Limits -----------------------------------------------------------------------------------------------------------


def test_default_limits() -> None:
    assert LIMITS.to_dict() == {
        "max_order_value": 100_000_000,
        "max_position_weight_pct": 30.0,
        "max_orders_per_second": 1,
        "daily_loss_limit_pct": 5.0,
        "max_drawdown_pct": 20.0,
        "caution_at_pct": 50.0,
        "danger_at_pct": 80.0,
    }


def test_limits_from_mapping() -> None:
    limits = RiskLimits.from_mapping({"max_order_value": 5_000_000, "max_drawdown_pct": 100, "caution_at_pct": 25.5})
    assert (limits.max_order_value, limits.max_drawdown_pct, limits.caution_at_pct) == (5_000_000, 100, 25.5)
    assert limits.max_orders_per_second == 1  # a default
    assert RiskLimits.from_mapping({}) == LIMITS


def test_unknown_keys_and_bad_values_are_all_listed() -> None:
    with pytest.raises(RiskLimitsError) as caught:
        RiskLimits.from_mapping(
            {
                "max_order_value": 0,
                "max_orders_per_second": 2.5,
                "daily_loss_limit_pct": 0,
                "max_drawdown_pct": 120,
                "max_position_weight_pct": "30",
                "danger_at_pct": True,
                "max_leverage": 2,
                "stop_loss": 1,
            }
        )
    errors = caught.value.errors
    assert errors == {
        "max_leverage": "unknown key",
        "stop_loss": "unknown key",
        "daily_loss_limit_pct": "must be a percentage in (0, 100], got 0",
        "danger_at_pct": "must be a number, got True",
        "max_drawdown_pct": "must be a percentage in (0, 100], got 120",
        "max_order_value": "must be positive, got 0",
        "max_orders_per_second": "must be a whole number, got 2.5",
        "max_position_weight_pct": "must be a number, got '30'",
    }
    assert str(caught.value).startswith("invalid risk limits: max_leverage: unknown key; stop_loss: unknown key")


def test_limits_are_validated_on_construction() -> None:
    with pytest.raises(RiskLimitsError, match="max_position_weight_pct: must be a percentage"):
        RiskLimits(max_position_weight_pct=-1)
    with pytest.raises(RiskLimitsError, match="caution_at_pct: must not exceed danger_at_pct"):
        RiskLimits(caution_at_pct=90, danger_at_pct=80)


# Each check -------------------------------------------------------------------------------------------------------


def test_tick_check() -> None:
    assert check_tick(limit_order(Side.BUY, 1, 71_000)) == CheckResult("tick", True, "71,000 is on the tick grid")
    failed = check_tick(limit_order(Side.BUY, 1, 71_050))
    assert not failed.passed
    assert "nearest valid prices are 71,000 and 71,100" in failed.detail
    assert check_tick(Order(Side.BUY, OrderType.MARKET, 1)).passed


def test_limit_band_check() -> None:
    assert check_limit_band(limit_order(Side.SELL, 1, 91_000), 70_000, "KOSPI").passed
    failed = check_limit_band(limit_order(Side.SELL, 1, 91_100), 70_000, "KOSPI")
    assert (failed.name, failed.passed) == ("limit_band", False)
    assert "outside today's price band 49,000 to 91,000" in failed.detail
    assert not check_limit_band(limit_order(Side.SELL, 1, 11_510), 10_000, "KONEX").passed
    assert check_limit_band(Order(Side.SELL, OrderType.MARKET, 1), 70_000, "KOSPI").passed


def test_order_value_check() -> None:
    assert check_order_value(100_000_000, LIMITS) == CheckResult(
        "max_order_value", True, "order value 100,000,000 KRW within the 100,000,000 KRW limit"
    )
    assert check_order_value(100_000_001, LIMITS) == CheckResult(
        "max_order_value", False, "order value 100,000,001 KRW exceeds the 100,000,000 KRW limit"
    )


def test_position_weight_check() -> None:
    # 20,000,000 held of 100,000,000 equity; a buy of 10,000,000 with 1,500 of fees weighs 30.0005%.
    failed = check_position_weight(Side.BUY, 20_000_000, 10_000_000, 1_500, 100_000_000, LIMITS)
    assert not failed.passed
    assert failed.detail == "position weight after the order 30.00% exceeds the 30% limit"
    passed = check_position_weight(Side.BUY, 20_000_000, 9_000_000, 1_350, 100_000_000, LIMITS)
    assert passed.passed
    assert passed.detail == "position weight after the order 29.00% within the 30% limit"
    assert check_position_weight(Side.SELL, 90_000_000, 1_000_000, 0, 100_000_000, LIMITS).passed
    assert not check_position_weight(Side.BUY, 0, 1_000, 15, 0, LIMITS).passed


def test_cash_check() -> None:
    assert check_cash(Side.BUY, 1_000_000, 1_000_000).passed
    failed = check_cash(Side.BUY, 1_000_151, 1_000_000)
    assert not failed.passed
    assert failed.detail == "needs 1,000,151 KRW but buying power is 1,000,000 KRW (short 151)"
    assert check_cash(Side.SELL, 5_000_000, 0).passed


def test_sellable_quantity_check() -> None:
    assert check_sellable(Side.SELL, 70, 100, 30).passed
    failed = check_sellable(Side.SELL, 71, 100, 30)
    assert not failed.passed
    assert failed.detail == "selling 71 exceeds the 70 sellable shares (100 held, 30 in open sell orders)"
    assert not check_sellable(Side.SELL, 1, 0, 0).passed
    assert check_sellable(Side.BUY, 1_000, 0, 0).passed


def test_order_rate_check() -> None:
    ms = dt.timedelta(milliseconds=1)
    five_a_second = RiskLimits(max_orders_per_second=5)
    four = [NOW - 100 * ms * i for i in range(4)]
    assert check_order_rate(NOW, four, five_a_second).passed
    five = [*four, NOW - 999 * ms]
    failed = check_order_rate(NOW, five, five_a_second)
    assert not failed.passed
    assert failed.detail == "5 orders in the last second already: limit 5 per second"
    # An order exactly one second ago has left the window; later timestamps do not count.
    assert check_order_rate(NOW, [*four, NOW - 1000 * ms], five_a_second).passed
    assert check_order_rate(NOW, [*four, NOW + ms], five_a_second).passed
    # The default: one order a second.
    assert check_order_rate(NOW, [], LIMITS).passed
    assert not check_order_rate(NOW, [NOW - 500 * ms], LIMITS).passed


@pytest.mark.parametrize(
    ("state", "side", "passed"),
    [
        (AccountState.ACTIVE, Side.BUY, True),
        (AccountState.ACTIVE, Side.SELL, True),
        (AccountState.REDUCING, Side.BUY, False),
        (AccountState.REDUCING, Side.SELL, True),
        (AccountState.HALTED, Side.SELL, False),
        (AccountState.STOPPED, Side.SELL, False),
    ],
)
def test_account_state_check(state: AccountState, side: Side, passed: bool) -> None:
    result = check_account_state(state, side)
    assert (result.name, result.passed) == ("account_state", passed)


def test_reducing_account_refuses_buys_with_a_reason() -> None:
    assert check_account_state(AccountState.REDUCING, Side.BUY).detail == "account reducing: only sells are accepted"
    assert check_account_state(AccountState.HALTED, Side.BUY).detail == "account halted: no new orders"


# All the checks of one order --------------------------------------------------------------------------------------

BOOK = OrderBook(
    "005930",
    asks=((71_000, 100), (71_100, 200)),
    bids=((70_900, 150), (70_800, 250)),
    time=NOW,
    phase=Phase.CONTINUOUS,
)


def test_check_order_all_passing() -> None:
    order = limit_order(Side.BUY, 100, 71_000)
    priced = price_order(order, BOOK, market="KOSPI", base_price=70_000, trade_date=NOW.date())
    one_second_ago = NOW - dt.timedelta(seconds=1)  # out of the window: one order a second passes
    account = AccountSnapshot(equity=100_000_000, buying_power=50_000_000, recent_order_times=(one_second_ago,))
    results = check_order(order, priced, account, LIMITS, base_price=70_000, market="KOSPI", now=NOW)
    assert [r.name for r in results] == [
        "account_state",
        "tick",
        "limit_band",
        "max_order_value",
        "max_position_weight",
        "available_cash",
        "sellable_quantity",
        "order_rate",
    ]
    assert all_passed(results)
    assert failures(results) == []


def test_check_order_reports_each_failure() -> None:
    order = Order(Side.BUY, OrderType.MARKET, 300)  # 21,320,000 KRW from the book
    priced = price_order(order, BOOK, market="KOSPI", base_price=70_000, trade_date=NOW.date())
    account = AccountSnapshot(
        equity=50_000_000,
        buying_power=20_000_000,
        state=AccountState.REDUCING,
        position_value=0,
        recent_order_times=tuple(NOW - dt.timedelta(milliseconds=10 * i) for i in range(5)),
    )
    limits = RiskLimits(max_order_value=20_000_000)
    results = check_order(order, priced, account, limits, base_price=70_000, market="KOSPI", now=NOW)
    assert [r.name for r in failures(results)] == [
        "account_state",
        "max_order_value",
        "max_position_weight",
        "available_cash",
        "order_rate",
    ]
    assert not all_passed(results)


def test_check_order_sell_in_a_reducing_account() -> None:
    order = limit_order(Side.SELL, 50, 70_900)
    priced = price_order(order, BOOK, market="KOSPI", base_price=70_000, trade_date=NOW.date())
    account = AccountSnapshot(
        equity=10_000_000,
        buying_power=0,
        state=AccountState.REDUCING,
        held_quantity=100,
        open_sell_quantity=60,
        position_value=7_090_000,
    )
    results = check_order(order, priced, account, LIMITS, base_price=70_000, market="KOSPI", now=NOW)
    assert [r.name for r in failures(results)] == ["sellable_quantity"]  # 40 sellable


def test_check_order_without_figures() -> None:
    # An off-grid price cannot be priced: the checks needing figures are left out, the tick check says why.
    order = limit_order(Side.BUY, 10, 71_050)
    account = AccountSnapshot(equity=1_000_000, buying_power=1_000_000)
    results = check_order(order, None, account, LIMITS, base_price=70_000, market="KOSPI", now=NOW)
    assert [r.name for r in results] == ["account_state", "tick", "limit_band", "sellable_quantity", "order_rate"]
    assert [r.name for r in failures(results)] == ["tick"]
    assert results[1].to_dict()["passed"] is False


def test_whole_number_limits_have_upper_bounds() -> None:
    with pytest.raises(RiskLimitsError) as caught:
        RiskLimits.from_mapping({"max_orders_per_second": 10**12, "max_order_value": 10**13 + 1})
    assert caught.value.errors == {
        "max_order_value": "must be at most 10,000,000,000,000, got 10000000000001",
        "max_orders_per_second": "must be at most 100, got 1000000000000",
    }
    assert RiskLimits.from_mapping({"max_orders_per_second": 100}).max_orders_per_second == 100


def test_limits_stored_before_the_bounds_act_as_the_nearest_bound() -> None:
    stored = {"max_orders_per_second": 1_000_000, "max_order_value": 10**15, "max_drawdown_pct": 20.0}
    limits = RiskLimits.from_stored(stored)
    assert (limits.max_orders_per_second, limits.max_order_value, limits.max_drawdown_pct) == (100, 10**13, 20.0)
    with pytest.raises(RiskLimitsError):
        RiskLimits.from_stored({"max_orders_per_second": "fast"})
