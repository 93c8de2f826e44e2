"""Settlement (결제) of KRX trades on T+2, cash by settlement day (D+0, D+1, D+2 예수금) and buying power.

A trade made on day T settles on the second KRX trading day after T (weekends and exchange holidays skipped, from
:mod:`kstock.kit.calendar`): a sale's proceeds arrive and a purchase is paid on that day. Deposits and withdrawals
move cash at once (``settlement_days=0``).

Every movement of cash is a :class:`CashMovement`: a signed KRW amount (positive in, negative out) with the day it
happened and how many trading days it takes to settle. A trade's amount is its net cash change as priced by
:mod:`kstock.trading.pricing`: a purchase is ``-(amount + commission)``, a sale ``+(amount - commission - tax)``;
fees and tax settle with their trade.

:func:`cash_position` answers, as of a day:

- ``settled`` (D+0): the cash that has settled by that day;
- ``next_day`` (D+1): what will have settled by the next trading day;
- ``projected`` (D+2): what will have settled once every trade made so far has; ``settled + receivable - payable``;
- ``receivable`` and ``payable``: unsettled sale proceeds and unsettled purchase payments (both >= 0).

Movements dated after the day are ignored: they have not happened yet.

Buying power (주문가능금액) follows the rule of Korean brokers for stocks bought with a 100% margin rate (no credit,
no 미수): unsettled sale proceeds may pay for new purchases, because they settle no later than any purchase made
after the sale (both are T+2). So::

    buying_power = max(0, projected - reserved_for_open_buys)

where ``reserved_for_open_buys`` is what the account's open (unfilled) buy orders hold back: their price times
their unfilled quantity plus the commission on it (:attr:`kstock.trading.pricing.PricedOrder.reserved_cash`). A buy
is accepted only when its own reservation fits within the buying power, so settled cash never goes negative.

Cash that can be withdrawn is settled cash not needed for purchases awaiting settlement nor held for open buys::

    withdrawable = max(0, min(settled - payable, projected - reserved_for_open_buys))
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from kstock.kit.calendar import is_trading_day

__all__ = [
    "STANDARD_SETTLEMENT_DAYS",
    "CashMovement",
    "CashPosition",
    "buying_power",
    "cash_position",
    "settlement_date",
    "withdrawable",
]

STANDARD_SETTLEMENT_DAYS: Final = 2  # KRX equities settle on T+2
_ONE_DAY: Final = dt.timedelta(days=1)


def settlement_date(trade_date: dt.date, days: int = STANDARD_SETTLEMENT_DAYS) -> dt.date:
    """The ``days``-th KRX trading day after ``trade_date`` (``trade_date`` itself when ``days`` is 0).

    A trade on Friday settles on Tuesday; one on the eve of a holiday settles a day later for each closed weekday.
    """
    if days < 0:
        raise ValueError("settlement days must not be negative")
    day = trade_date
    remaining = days
    while remaining:
        day += _ONE_DAY
        if is_trading_day(day):
            remaining -= 1
    return day


@dataclass(frozen=True, slots=True)
class CashMovement:
    """One movement of cash: a trade's net cash change, a deposit (+) or a withdrawal (-)."""

    amount: int  # KRW, positive in, negative out
    trade_date: dt.date
    settlement_days: int = STANDARD_SETTLEMENT_DAYS  # 0 for deposits and withdrawals

    def __post_init__(self) -> None:
        if self.settlement_days < 0:
            raise ValueError("settlement days must not be negative")

    @property
    def settles_on(self) -> dt.date:
        return settlement_date(self.trade_date, self.settlement_days)


@dataclass(frozen=True, slots=True)
class CashPosition:
    """An account's cash as of a day, by settlement day (KRW)."""

    as_of: dt.date
    settled: int  # D+0
    next_day: int  # D+1
    receivable: int  # unsettled inflows, >= 0
    payable: int  # unsettled outflows, >= 0

    @property
    def projected(self) -> int:
        """D+2: the cash once everything traded so far has settled."""
        return self.settled + self.receivable - self.payable


def cash_position(movements: Iterable[CashMovement], as_of: dt.date) -> CashPosition:
    """Where the account's cash stands on ``as_of`` (movements dated later are ignored)."""
    settled = 0
    next_day = 0
    receivable = 0
    payable = 0
    tomorrow = settlement_date(as_of, 1)
    for movement in movements:
        if movement.trade_date > as_of:
            continue
        settles_on = movement.settles_on
        if settles_on <= as_of:
            settled += movement.amount
        elif movement.amount >= 0:
            receivable += movement.amount
        else:
            payable -= movement.amount
        if settles_on <= tomorrow:
            next_day += movement.amount
    return CashPosition(as_of=as_of, settled=settled, next_day=next_day, receivable=receivable, payable=payable)


def buying_power(position: CashPosition, reserved_for_open_buys: int = 0) -> int:
    """What new buy orders may spend: D+2 cash less what open buy orders hold back; never negative."""
    if reserved_for_open_buys < 0:
        raise ValueError("reserved amount must not be negative")
    return max(0, position.projected - reserved_for_open_buys)


def withdrawable(position: CashPosition, reserved_for_open_buys: int = 0) -> int:
    """Settled cash free of pending purchases and open buy orders; never negative."""
    if reserved_for_open_buys < 0:
        raise ValueError("reserved amount must not be negative")
    return max(0, min(position.settled - position.payable, position.projected - reserved_for_open_buys))
