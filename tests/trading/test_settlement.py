"""T+2 settlement on the KRX calendar, cash by settlement day, buying power and withdrawable cash."""

from __future__ import annotations

import datetime as dt

import pytest

from kstock.trading.settlement import (
    CashMovement,
    CashPosition,
    buying_power,
    cash_position,
    settlement_date,
    withdrawable,
)

D = dt.date


@pytest.mark.parametrize(
    ("trade_date", "settles_on"),
    [
        (D(2025, 6, 10), D(2025, 6, 12)),  # Tuesday -> Thursday
        (D(2025, 6, 12), D(2025, 6, 16)),  # Thursday -> Monday, over the weekend
        (D(2025, 6, 13), D(2025, 6, 17)),  # Friday -> Tuesday
        (D(2025, 6, 2), D(2025, 6, 5)),  # 2025-06-03 was election day
        (D(2025, 6, 4), D(2025, 6, 9)),  # Memorial Day (Friday 06-06) and the weekend
        (D(2025, 10, 2), D(2025, 10, 13)),  # Chuseok: closed from Friday 10-03 to Thursday 10-09
        (D(2025, 12, 29), D(2026, 1, 2)),  # the year-end closure and New Year's Day
    ],
)
def test_t_plus_2_skips_weekends_and_holidays(trade_date: dt.date, settles_on: dt.date) -> None:
    assert settlement_date(trade_date) == settles_on


def test_other_settlement_cycles() -> None:
    assert settlement_date(D(2025, 6, 14), 0) == D(2025, 6, 14)  # a Saturday deposit is there at once
    assert settlement_date(D(2025, 6, 13), 1) == D(2025, 6, 16)
    with pytest.raises(ValueError, match="negative"):
        settlement_date(D(2025, 6, 13), -1)
    with pytest.raises(ValueError, match="negative"):
        CashMovement(100, D(2025, 6, 13), settlement_days=-1)


# A deposit on Monday 2025-06-02; a buy the same day (settles Thursday 06-05, after the election-day holiday);
# a sale on Wednesday 06-04 (settles Monday 06-09, after Memorial Day and the weekend).
DEPOSIT = CashMovement(1_000_000, D(2025, 6, 2), settlement_days=0)
BUY = CashMovement(-500_075, D(2025, 6, 2))
SALE = CashMovement(300_000, D(2025, 6, 4))
LEDGER = [DEPOSIT, BUY, SALE]


def test_cash_on_the_day_of_the_buy() -> None:
    position = cash_position(LEDGER, D(2025, 6, 2))
    # The next trading day is Wednesday 06-04: the buy is still to pay.
    assert position == CashPosition(D(2025, 6, 2), settled=1_000_000, next_day=1_000_000, receivable=0, payable=500_075)
    assert position.projected == 499_925  # the sale of 06-04 has not happened yet


def test_cash_across_the_holiday_and_the_weekend() -> None:
    on_sale_day = cash_position(LEDGER, D(2025, 6, 4))
    assert (on_sale_day.settled, on_sale_day.next_day, on_sale_day.projected) == (1_000_000, 499_925, 799_925)
    assert (on_sale_day.receivable, on_sale_day.payable) == (300_000, 500_075)
    # On Thursday the next trading day is Monday 06-09, when the sale settles.
    thursday = cash_position(LEDGER, D(2025, 6, 5))
    assert (thursday.settled, thursday.next_day, thursday.payable) == (499_925, 799_925, 0)
    saturday = cash_position(LEDGER, D(2025, 6, 7))
    assert (saturday.settled, saturday.receivable) == (499_925, 300_000)
    monday = cash_position(LEDGER, D(2025, 6, 9))
    assert (monday.settled, monday.receivable, monday.projected) == (799_925, 0, 799_925)


def test_buying_power_counts_unsettled_sale_proceeds() -> None:
    position = cash_position(LEDGER, D(2025, 6, 4))
    assert buying_power(position) == 799_925
    assert buying_power(position, reserved_for_open_buys=200_030) == 599_895
    assert buying_power(position, reserved_for_open_buys=900_000) == 0  # never negative: no credit
    with pytest.raises(ValueError, match="negative"):
        buying_power(position, -1)


def test_withdrawable_is_settled_cash_free_of_pending_purchases_and_open_buys() -> None:
    # Settled 1,000,000 with a purchase of 500,075 to pay on 06-05: only the rest may leave.
    on_buy_day = cash_position(LEDGER, D(2025, 6, 2))
    assert withdrawable(on_buy_day) == 499_925
    # Unsettled sale proceeds are not withdrawable; open buys hold cash back.
    on_sale_day = cash_position(LEDGER, D(2025, 6, 4))
    assert withdrawable(on_sale_day) == 499_925
    assert withdrawable(on_sale_day, reserved_for_open_buys=700_000) == 99_925
    assert withdrawable(on_sale_day, reserved_for_open_buys=900_000) == 0
    with pytest.raises(ValueError, match="negative"):
        withdrawable(on_sale_day, -1)


def test_sale_proceeds_pay_for_a_purchase_made_with_them() -> None:
    # Sell everything on Friday, buy with the proceeds on Monday: the sale settles first, cash never goes negative.
    ledger = [
        CashMovement(100_000, D(2025, 6, 12), settlement_days=0),
        CashMovement(5_000_000, D(2025, 6, 13)),  # settles Tuesday 06-17
        CashMovement(-5_100_000, D(2025, 6, 16)),  # settles Wednesday 06-18
    ]
    for day in (D(2025, 6, 16), D(2025, 6, 17), D(2025, 6, 18)):
        position = cash_position(ledger, day)
        assert position.settled >= 0
        assert position.projected == 0
    assert cash_position(ledger, D(2025, 6, 16)).next_day == 5_100_000  # the sale settles the next trading day


def test_no_movements() -> None:
    position = cash_position([], D(2025, 6, 2))
    assert (position.settled, position.next_day, position.projected) == (0, 0, 0)
    assert buying_power(position) == withdrawable(position) == 0
