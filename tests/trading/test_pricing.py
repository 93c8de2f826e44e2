"""Orders against the book: validation with reasons, hand-computed walks across levels with exact amounts, day and
IOC remainders, auctions, halts and closed markets, warnings, and fills of resting orders from the tape."""

from __future__ import annotations

import datetime as dt
from fractions import Fraction

import pytest

from kstock.kit.calendar import KST
from kstock.sources import OrderBook, Phase
from kstock.trading.costs import DEFAULT_SCHEDULE, Costs, CostSchedule, Side
from kstock.trading.orders import InvalidOrderError, Order, OrderType, TimeInForce, validate_order
from kstock.trading.pricing import (
    DEFAULT_FAR_FROM_LAST_PCT,
    Fill,
    PricedOrder,
    buy_reservation,
    match_limit_order,
    price_order,
    walk_book,
)

TRADE_DATE = dt.date(2025, 6, 2)
BASE = 70_000  # KOSPI band: 49,000 to 91,000
ASKS = ((71_000, 100), (71_100, 200), (71_200, 300), (71_300, 400))
BIDS = ((70_900, 150), (70_800, 250), (70_700, 300))


def book(
    phase: Phase = Phase.CONTINUOUS,
    asks: tuple[tuple[int, int], ...] = ASKS,
    bids: tuple[tuple[int, int], ...] = BIDS,
    expected_price: int | None = None,
    halted: bool = False,
) -> OrderBook:
    time = dt.datetime(2025, 6, 2, 10, 0, tzinfo=KST)
    return OrderBook("005930", asks, bids, time, phase, expected_price=expected_price, halted=halted)


def price(
    order: Order,
    order_book: OrderBook | None = None,
    *,
    market: str = "KOSPI",
    last_price: int | None = None,
    schedule: CostSchedule = DEFAULT_SCHEDULE,
    far_from_last_pct: float = DEFAULT_FAR_FROM_LAST_PCT,
) -> PricedOrder:
    return price_order(
        order,
        order_book or book(),
        market=market,
        base_price=BASE,
        trade_date=TRADE_DATE,
        last_price=last_price,
        schedule=schedule,
        far_from_last_pct=far_from_last_pct,
    )


def market(side: str, quantity: int, tif: str = "day") -> Order:
    return Order(Side(side), OrderType.MARKET, quantity, time_in_force=TimeInForce(tif))


def limit(side: str, quantity: int, limit_price: int, tif: str = "day") -> Order:
    return Order(Side(side), OrderType.LIMIT, quantity, limit_price, TimeInForce(tif))


def codes(order: Order, order_book: OrderBook | None = None) -> list[str]:
    with pytest.raises(InvalidOrderError) as caught:
        price(order, order_book)
    return [p.code for p in caught.value.problems]


# Walking the book -------------------------------------------------------------------------------------------------


def test_market_buy_walks_two_ask_levels() -> None:
    priced = price(market("buy", 250))
    assert priced.fills == ((71_000, 100), (71_100, 150))
    assert (priced.filled_quantity, priced.resting_quantity, priced.cancelled_quantity) == (250, 0, 0)
    assert priced.filled_amount == priced.gross_amount == 7_100_000 + 10_665_000 == 17_765_000
    assert priced.average_fill_price == priced.estimated_price == 71_060
    assert priced.costs == Costs(commission=2_664)  # 2,664.75 truncated
    assert priced.net_cash_change == -17_767_664
    assert priced.reserved_cash == 17_767_664
    assert priced.warnings == ("market order would walk 2 levels (71,000 to 71,100)",)


def test_average_price_is_an_exact_fraction() -> None:
    priced = price(market("buy", 350))
    assert priced.filled_amount == 7_100_000 + 14_220_000 + 3_560_000 == 24_880_000
    assert priced.average_fill_price == Fraction(24_880_000, 350) == Fraction(497_600, 7)
    assert priced.costs.commission == 3_732
    assert priced.net_cash_change == -24_883_732
    assert priced.to_dict()["average_fill_price"] == 71_085.71


def test_market_sell_walks_the_bids_and_pays_tax() -> None:
    priced = price(market("sell", 200))
    assert priced.fills == ((70_900, 150), (70_800, 50))
    assert priced.gross_amount == 10_635_000 + 3_540_000 == 14_175_000
    # commission 2,126.25 -> 2,126; 2025 KOSPI: rural special tax 0.15% = 21,262.5 -> 21,262.
    assert priced.costs == Costs(commission=2_126, transaction_tax=0, rural_tax=21_262)
    assert priced.net_cash_change == 14_175_000 - 2_126 - 21_262 == 14_151_612
    assert priced.reserved_cash == 0


def test_market_order_beyond_the_visible_book_is_partly_cancelled() -> None:
    priced = price(market("buy", 1_200))
    assert (priced.filled_quantity, priced.resting_quantity, priced.cancelled_quantity) == (1_000, 0, 200)
    assert priced.gross_amount == 7_100_000 + 14_220_000 + 21_360_000 + 28_520_000 == 71_200_000
    assert priced.warnings == (
        "market order would walk 4 levels (71,000 to 71,300)",
        "partially fillable: 1,000 of 1,200 shares fill now, 200 would be cancelled",
    )


def test_market_order_on_an_empty_side() -> None:
    priced = price(market("buy", 100), book(asks=()))
    assert (priced.filled_quantity, priced.cancelled_quantity, priced.gross_amount) == (0, 100, 0)
    assert priced.estimated_price is None
    assert priced.costs == Costs()
    assert priced.net_cash_change == 0
    assert priced.warnings == ("nothing fillable now (the book has no asks): 100 shares would be cancelled",)


def test_walk_sorts_levels_and_skips_empty_ones() -> None:
    walk = walk_book(Side.BUY, 150, book(asks=((71_100, 200), (71_000, 0), (70_900, 100))))
    assert walk.fills == ((70_900, 100), (71_100, 50))
    assert (walk.quantity, walk.amount, walk.unfilled, walk.levels) == (150, 10_645_000, 0, 2)
    assert walk_book(Side.SELL, 10, book(bids=())).average_price is None


# Limit orders -----------------------------------------------------------------------------------------------------


def test_day_limit_buy_fills_what_it_reaches_and_rests_the_rest() -> None:
    priced = price(limit("buy", 400, 71_100))
    assert priced.fills == ((71_000, 100), (71_100, 200))
    assert (priced.filled_quantity, priced.resting_quantity, priced.cancelled_quantity) == (300, 100, 0)
    assert priced.filled_amount == 21_320_000
    assert priced.gross_amount == 21_320_000 + 7_110_000 == 28_430_000
    assert priced.estimated_price == 71_075
    assert priced.costs.commission == 4_264  # 4,264.5
    assert priced.net_cash_change == -28_434_264
    assert priced.reserved_cash == 28_434_264
    assert priced.warnings == (
        "limit order would walk 2 levels (71,000 to 71,100)",
        "partially fillable: 300 of 400 shares fill now, 100 rest at 71,100",
    )


def test_ioc_limit_buy_cancels_the_rest() -> None:
    priced = price(limit("buy", 400, 71_100, "ioc"))
    assert (priced.filled_quantity, priced.resting_quantity, priced.cancelled_quantity) == (300, 0, 100)
    assert priced.gross_amount == 21_320_000
    assert priced.costs.commission == 3_198
    assert priced.reserved_cash == 21_323_198
    assert "partially fillable: 300 of 400 shares fill now, 100 would be cancelled" in priced.warnings


def test_limit_below_the_best_ask() -> None:
    day = price(limit("buy", 10, 70_500))
    assert (day.filled_quantity, day.resting_quantity, day.gross_amount) == (0, 10, 705_000)
    assert day.estimated_price == 70_500
    assert day.warnings == ()
    ioc = price(limit("buy", 10, 70_500, "ioc"))
    assert (ioc.filled_quantity, ioc.cancelled_quantity, ioc.gross_amount, ioc.reserved_cash) == (0, 10, 0, 0)
    assert ioc.warnings == (
        "nothing fillable now (no asks at or below the limit 70,500): 10 shares would be cancelled",
    )


def test_day_limit_sell_rests_above_the_bids_it_cannot_reach() -> None:
    priced = price(limit("sell", 500, 70_800))
    assert priced.fills == ((70_900, 150), (70_800, 250))
    assert (priced.filled_amount, priced.resting_quantity) == (28_335_000, 100)
    assert priced.gross_amount == 28_335_000 + 7_080_000
    assert priced.reserved_cash == 0
    assert priced.net_cash_change == priced.gross_amount - priced.costs.total


# Validation -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("limit_price", "tick", "below", "above"),
    [
        (71_050, 100, 71_000, 71_100),
        (49_990, 50, 49_950, 50_000),  # the grid widens at 50,000
        (4_999, 5, 4_995, 5_000),
    ],
)
def test_off_tick_prices_name_the_nearest_valid_ones(limit_price: int, tick: int, below: int, above: int) -> None:
    problems = validate_order(limit("buy", 1, limit_price), base_price=limit_price, market="KOSPI")
    assert len(problems) == 1
    problem = problems[0]
    assert problem.code == "PRICE_OFF_TICK"
    assert problem.details == {"price": limit_price, "tick": tick, "below": below, "above": above}
    assert f"{below:,} and {above:,}" in problem.message


@pytest.mark.parametrize(("limit_price", "ok"), [(91_000, True), (91_100, False), (49_000, True), (48_950, False)])
def test_limit_band(limit_price: int, ok: bool) -> None:
    problems = validate_order(limit("sell", 1, limit_price), base_price=BASE, market="KOSPI")
    assert [p.code for p in problems] == ([] if ok else ["PRICE_OUTSIDE_BAND"])
    if not ok:
        assert problems[0].details == {"price": limit_price, "lower": 49_000, "upper": 91_000, "base_price": BASE}
        assert "49,000 to 91,000" in problems[0].message


def test_konex_band_is_15_percent() -> None:
    assert validate_order(limit("buy", 1, 11_500), base_price=10_000, market="KONEX") == []
    [problem] = validate_order(limit("buy", 1, 11_510), base_price=10_000, market="KONEX")
    assert (problem.code, problem.details["lower"], problem.details["upper"]) == ("PRICE_OUTSIDE_BAND", 8_500, 11_500)


def test_every_problem_is_listed() -> None:
    assert codes(limit("buy", 0, 71_050)) == ["QUANTITY_NOT_POSITIVE", "PRICE_OFF_TICK"]
    assert codes(Order(Side.BUY, OrderType.LIMIT, 10)) == ["LIMIT_PRICE_REQUIRED"]
    assert codes(Order(Side.BUY, OrderType.MARKET, -5, 71_000)) == ["QUANTITY_NOT_POSITIVE", "LIMIT_PRICE_NOT_ALLOWED"]
    assert codes(limit("buy", 1, 0)) == ["PRICE_NOT_POSITIVE", "PRICE_OUTSIDE_BAND"]


def test_invalid_order_error_carries_the_problems() -> None:
    with pytest.raises(InvalidOrderError, match="not on the tick grid") as caught:
        price(limit("buy", 1, 71_050))
    assert caught.value.problems[0].to_dict()["details"] == {
        "price": 71_050,
        "tick": 100,
        "below": 71_000,
        "above": 71_100,
    }
    with pytest.raises(ValueError, match="base price"):
        validate_order(market("buy", 1), base_price=0, market="KOSPI")


def test_orders_accept_strings_for_their_enums() -> None:
    order = Order("sell", "limit", 5, 71_000, "ioc")  # type: ignore[arg-type]
    assert (order.side, order.order_type, order.time_in_force) == (Side.SELL, OrderType.LIMIT, TimeInForce.IOC)
    with pytest.raises(ValueError, match="short"):
        Order("short", "limit", 5, 71_000)  # type: ignore[arg-type]


# Auctions, closed markets, halts ----------------------------------------------------------------------------------


def test_market_buy_in_the_pre_open_auction_waits_at_the_expected_price() -> None:
    priced = price(market("buy", 100), book(Phase.PRE_OPEN, expected_price=71_200))
    assert (priced.filled_quantity, priced.resting_quantity, priced.fills) == (0, 100, ())
    assert priced.estimated_price == 71_200
    assert priced.gross_amount == 7_120_000
    assert priced.costs.commission == 1_068
    # The reservation of a market buy waiting for an auction is at the upper price limit.
    assert priced.reserved_cash == 9_100_000 + 1_365
    assert priced.warnings == (
        "call auction (pre_open): nothing fills before the auction price is set",
        "estimated at the expected auction price 71,200",
    )


@pytest.mark.parametrize(
    ("order", "estimate", "reserved"),
    [
        (limit("buy", 100, 71_000), 71_000, 7_100_000 + 1_065),  # the auction price does not reach it
        (limit("buy", 100, 71_500), 71_200, 7_150_000 + 1_072),  # it does: estimated at the auction price
        (limit("sell", 100, 71_000), 71_200, 0),
        (limit("sell", 100, 71_500), 71_500, 0),
    ],
)
def test_limit_orders_in_the_closing_auction(order: Order, estimate: int, reserved: int) -> None:
    priced = price(order, book(Phase.CLOSING_AUCTION, expected_price=71_200))
    assert (priced.filled_quantity, priced.resting_quantity) == (0, 100)
    assert priced.estimated_price == estimate
    assert priced.gross_amount == estimate * 100
    assert priced.reserved_cash == reserved


def test_auction_without_an_indicative_price_uses_the_last_then_the_base_price() -> None:
    with_last = price(market("sell", 10), book(Phase.PRE_OPEN), last_price=70_500)
    assert with_last.estimated_price == 70_500
    assert "estimated at the last price 70,500" in with_last.warnings
    without = price(market("sell", 10), book(Phase.PRE_OPEN))
    assert without.estimated_price == BASE
    assert "estimated at the base price 70,000" in without.warnings


def test_closed_market_waits_for_the_next_session() -> None:
    priced = price(limit("buy", 10, 70_000), book(Phase.CLOSED), last_price=71_000)
    assert (priced.filled_quantity, priced.resting_quantity) == (0, 10)
    assert priced.estimated_price == 70_000
    assert priced.warnings[0] == "market closed: the order waits for the next session's opening auction"
    assert "the last price 71,000 does not reach the limit 70,000: estimated at the limit" in priced.warnings


def test_halted_stock() -> None:
    priced = price(market("buy", 10), book(halted=True, expected_price=75_000), last_price=71_000)
    assert (priced.filled_quantity, priced.resting_quantity) == (0, 10)
    assert priced.estimated_price == 71_000  # a halted book's indicative price is not used
    assert priced.warnings[0] == "trading halted: nothing fills until trading resumes"


@pytest.mark.parametrize(
    "order_book",
    [book(Phase.PRE_OPEN), book(Phase.CLOSING_AUCTION), book(Phase.CLOSED), book(halted=True)],
)
def test_ioc_outside_continuous_trading_is_refused(order_book: OrderBook) -> None:
    assert codes(market("buy", 10, "ioc"), order_book) == ["IOC_NOT_ACCEPTED"]


# Warnings ---------------------------------------------------------------------------------------------------------


def test_far_from_last_price() -> None:
    far = price(limit("buy", 1, 75_000), last_price=71_000)
    assert far.warnings[-1] == "far from last price: 75,000 is 5.6% above the last price 71,000"
    assert price(limit("buy", 1, 74_500), last_price=71_000).warnings == ()
    low = price(limit("sell", 1, 80_000), last_price=90_000, far_from_last_pct=10.0)
    assert low.warnings == ("far from last price: 80,000 is 11.1% below the last price 90,000",)
    # A market order is judged by its estimated price.
    assert not any("far" in w for w in price(market("buy", 250), last_price=71_000).warnings)
    assert any("far" in w for w in price(market("buy", 250), last_price=67_000).warnings)


def test_costs_follow_the_market_and_schedule() -> None:
    schedule = CostSchedule.flat_commission("0.1", minimum=500)
    priced = price(market("sell", 10), market="KOSDAQ", schedule=schedule)
    assert priced.gross_amount == 709_000
    assert priced.costs == Costs(commission=709, transaction_tax=1_063)  # KOSDAQ 2025: 0.15%, 1,063.5
    small = price(market("buy", 1), schedule=schedule)
    assert small.costs.commission == 500
    assert small.reserved_cash == 71_500


def test_to_dict() -> None:
    body = price(limit("buy", 400, 71_100)).to_dict()
    assert body["side"] == "buy"
    assert body["order_type"] == "limit"
    assert body["time_in_force"] == "day"
    assert body["trade_date"] == "2025-06-02"
    assert body["phase"] == "continuous"
    assert body["fills"] == [{"price": 71_000, "quantity": 100}, {"price": 71_100, "quantity": 200}]
    assert body["average_fill_price"] == 71_066.67
    assert body["estimated_price"] == 71_075.0
    assert body["costs"] == {"commission": 4_264, "transaction_tax": 0, "rural_tax": 0, "tax": 0, "total": 4_264}


def test_buy_reservation() -> None:
    assert buy_reservation(71_100, 100, TRADE_DATE) == 7_110_000 + 1_066


# Resting orders against the tape ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("side", "limit_price", "trade_price", "auction", "expected"),
    [
        (Side.BUY, 71_000, 71_100, False, None),  # above a buy limit: no fill
        (Side.BUY, 71_000, 71_000, False, Fill(71_000, 50, 50)),
        (Side.BUY, 71_000, 70_900, False, Fill(71_000, 50, 50)),  # traded through: at the limit
        (Side.BUY, 71_000, 70_900, True, Fill(70_900, 50, 50)),  # auction: at the single price
        (Side.SELL, 71_000, 70_900, False, None),
        (Side.SELL, 71_000, 71_200, False, Fill(71_000, 50, 50)),
        (Side.SELL, 71_000, 71_200, True, Fill(71_200, 50, 50)),
        (Side.BUY, None, 71_300, True, Fill(71_300, 50, 50)),  # a market order waiting for the auction
    ],
)
def test_match_limit_order(
    side: Side, limit_price: int | None, trade_price: int, auction: bool, expected: Fill | None
) -> None:
    assert match_limit_order(100, limit_price, side, trade_price, 50, auction=auction) == expected


def test_match_limit_order_quantities() -> None:
    assert match_limit_order(30, 71_000, Side.BUY, 71_000, 500) == Fill(71_000, 30, 0)  # capped at what remains
    assert match_limit_order(100, 71_000, Side.BUY, 71_000, 55, participation_pct=10) == Fill(71_000, 5, 95)
    assert match_limit_order(100, 71_000, Side.BUY, 71_000, 9, participation_pct=10) is None  # 0.9 -> 0
    assert match_limit_order(0, 71_000, Side.BUY, 71_000, 10) is None
    assert match_limit_order(10, 71_000, Side.BUY, 71_000, 0) is None
    with pytest.raises(ValueError, match="participation"):
        match_limit_order(10, 71_000, Side.BUY, 71_000, 10, participation_pct=0)


@pytest.mark.parametrize(("quantity", "limit_price"), [(1.5, 71_000), (True, 71_000), (10, 71_000.0)])
def test_quantities_and_prices_are_integers(quantity: object, limit_price: object) -> None:
    with pytest.raises(ValueError, match="whole number"):
        Order(Side.BUY, OrderType.LIMIT, quantity, limit_price)  # type: ignore[arg-type]
