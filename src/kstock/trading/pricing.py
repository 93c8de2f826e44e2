"""The price of an order against the order book (호가): what fills now, what rests, what it costs.

:func:`price_order` previews a valid :class:`kstock.trading.orders.Order` (it raises
:class:`kstock.trading.orders.InvalidOrderError` with the problems of an invalid one) against a
:class:`kstock.sources.OrderBook`:

- Continuous trading: a buy takes the ask levels lowest first (a sell the bids, highest first) level by level, a
  limit order only the levels at or better than its limit. What the visible book (10 levels) cannot fill rests on
  the book for a day limit order, and is cancelled for an IOC order and for a market order (a market order never
  rests during continuous trading).
- Call auctions (pre-open, closing auction), a closed market or a halted stock: nothing fills now, the whole order
  waits (IOC orders are refused then). The estimate uses the book's indicative price (``expected_price``) when it
  has one, otherwise the last price, otherwise the base price; a limit order the indicative price does not reach is
  estimated at its limit.

Figures of a :class:`PricedOrder`: the fills now, their exact KRW amount (sum of price x quantity) and average price
(a :class:`fractions.Fraction`); ``gross_amount``, the estimated amount of everything expected to trade (fills now
plus the resting part at its limit, or at the auction estimate); the costs of ``gross_amount`` from
:mod:`kstock.trading.costs` (the stock's market, the trade date); the net cash change (buy ``-(amount + fees)``,
sell ``+(amount - fees - tax)``); for buys ``reserved_cash``, the most the order may spend: fills now, plus the
resting part at its limit (a market order waiting for an auction at the day's upper price limit), plus the
commission on that amount (:func:`buy_reservation` gives the same for what remains of an open buy). Warnings name
what deserves a second look: walking several levels, partial fills, nothing fillable, a price more than
``far_from_last_pct`` (default 5%) from the last price (the limit price of a limit order, the estimated price of a
market order), an auction, a closed market or a halt.

Costs are estimated on the order's whole amount; the engine should charge each execution with
:func:`kstock.trading.costs.trade_costs` on that execution's amount, which may differ by a won of truncation.

:func:`match_limit_order` fills a resting order from a print of the simulated tape. A resting buy fills when a trade
prints at or below its limit (a sell at or above). During continuous trading it fills at its own limit price (a
resting order sets the price of the trades against it, so a print through the limit means the order would have
traded first, at its limit); in an auction print every matched order trades at the single auction price, which is
at or better than the limit. A market order waiting for an auction fills at the auction price. The fill is at most
the print's quantity (times ``participation_pct``, rounded down) and at most what remains.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from fractions import Fraction
from typing import Final

from kstock.kit.krx import price_limits
from kstock.kit.numbers import rounded
from kstock.sources import OrderBook, Phase
from kstock.trading.costs import DEFAULT_SCHEDULE, Costs, CostSchedule, Side, net_cash_change, trade_costs
from kstock.trading.orders import InvalidOrderError, Order, OrderType, TimeInForce, validate_order

__all__ = [
    "AUCTION_PHASES",
    "DEFAULT_FAR_FROM_LAST_PCT",
    "BookWalk",
    "Fill",
    "PricedOrder",
    "buy_reservation",
    "match_limit_order",
    "price_order",
    "walk_book",
]

Level = tuple[int, int]

AUCTION_PHASES: Final = frozenset({Phase.PRE_OPEN, Phase.CLOSING_AUCTION})
DEFAULT_FAR_FROM_LAST_PCT: Final = 5.0


@dataclass(frozen=True, slots=True)
class BookWalk:
    """What taking one side of the book level by level fills: (price, quantity) per level, best first."""

    fills: tuple[Level, ...]
    quantity: int
    amount: int  # KRW, sum of price x quantity
    unfilled: int

    @property
    def levels(self) -> int:
        return len(self.fills)

    @property
    def average_price(self) -> Fraction | None:
        return Fraction(self.amount, self.quantity) if self.quantity else None


def walk_book(side: Side, quantity: int, book: OrderBook, limit: int | None = None) -> BookWalk:
    """Fill ``quantity`` from the asks (buy) or the bids (sell), stopping at ``limit`` when given."""
    if side is Side.BUY:
        levels = sorted(book.asks)
        reachable = (lambda price: price <= limit) if limit is not None else (lambda price: True)
    else:
        levels = sorted(book.bids, reverse=True)
        reachable = (lambda price: price >= limit) if limit is not None else (lambda price: True)
    fills: list[Level] = []
    remaining = quantity
    amount = 0
    for price, available in levels:
        if remaining <= 0 or not reachable(price):
            break
        if available <= 0:
            continue
        take = min(remaining, available)
        fills.append((price, take))
        amount += price * take
        remaining -= take
    return BookWalk(tuple(fills), quantity - remaining, amount, remaining)


@dataclass(frozen=True, slots=True)
class PricedOrder:
    """The preview of one valid order; see the module docstring for each figure."""

    order: Order
    market: str
    trade_date: dt.date
    phase: Phase
    fills: tuple[Level, ...]  # taken from the book now, best first
    filled_quantity: int  # now
    filled_amount: int  # KRW, now
    resting_quantity: int  # left on the book (day limit) or waiting for an auction or for trading to resume
    cancelled_quantity: int  # IOC remainder, market order beyond the visible book
    estimated_price: Fraction | None  # over filled + resting; None when nothing is expected to trade
    gross_amount: int  # KRW, estimated, filled + resting
    costs: Costs  # of gross_amount
    net_cash_change: int  # KRW, signed
    reserved_cash: int  # KRW, buys only (0 for sells)
    warnings: tuple[str, ...]

    @property
    def average_fill_price(self) -> Fraction | None:
        return Fraction(self.filled_amount, self.filled_quantity) if self.filled_quantity else None

    def to_dict(self) -> dict[str, object]:
        """Plain values for a response: prices as floats with 2 decimals, money as ints."""
        return {
            "side": self.order.side.value,
            "order_type": self.order.order_type.value,
            "quantity": self.order.quantity,
            "limit_price": self.order.limit_price,
            "time_in_force": self.order.time_in_force.value,
            "market": self.market,
            "trade_date": self.trade_date.isoformat(),
            "phase": self.phase.value,
            "fills": [{"price": price, "quantity": qty} for price, qty in self.fills],
            "filled_quantity": self.filled_quantity,
            "filled_amount": self.filled_amount,
            "average_fill_price": _display(self.average_fill_price),
            "resting_quantity": self.resting_quantity,
            "cancelled_quantity": self.cancelled_quantity,
            "estimated_price": _display(self.estimated_price),
            "gross_amount": self.gross_amount,
            "costs": self.costs.to_dict(),
            "net_cash_change": self.net_cash_change,
            "reserved_cash": self.reserved_cash,
            "warnings": list(self.warnings),
        }


def _display(price: Fraction | None) -> float | None:
    return None if price is None else rounded(float(price), 2)


def _crosses(side: Side, price: int, limit: int) -> bool:
    return price <= limit if side is Side.BUY else price >= limit


def buy_reservation(price: int, quantity: int, trade_date: dt.date, schedule: CostSchedule = DEFAULT_SCHEDULE) -> int:
    """Cash an open buy holds back for ``quantity`` shares at ``price``: the amount plus its commission."""
    amount = price * quantity
    return amount + schedule.commission_rate(trade_date).commission(amount)


def price_order(
    order: Order,
    book: OrderBook,
    *,
    market: str,
    base_price: int,
    trade_date: dt.date,
    last_price: int | None = None,
    schedule: CostSchedule = DEFAULT_SCHEDULE,
    far_from_last_pct: float = DEFAULT_FAR_FROM_LAST_PCT,
) -> PricedOrder:
    """Preview ``order`` against ``book``; InvalidOrderError when :func:`validate_order` finds problems."""
    problems = validate_order(order, base_price=base_price, market=market, phase=book.phase, halted=book.halted)
    if problems:
        raise InvalidOrderError(problems)
    side, limit = order.side, order.limit_price
    warnings: list[str] = []
    trades_now = book.phase is Phase.CONTINUOUS and not book.halted

    if trades_now:
        walk = walk_book(side, order.quantity, book, limit)
        if order.order_type is OrderType.LIMIT and order.time_in_force is TimeInForce.DAY:
            resting, cancelled = walk.unfilled, 0
        else:
            resting, cancelled = 0, walk.unfilled
        resting_price = limit or 0  # only day limit orders rest now
    else:
        walk = BookWalk((), 0, 0, order.quantity)
        resting, cancelled = order.quantity, 0
        resting_price = _waiting_price(order, book, last_price, base_price, warnings)

    gross = walk.amount + resting * resting_price
    expected_quantity = walk.quantity + resting
    costs = trade_costs(side, market, gross, trade_date, schedule)
    reserved = 0
    if side is Side.BUY:
        reserve_price = limit if limit is not None else price_limits(base_price, market)[1]
        reserved_amount = walk.amount + resting * reserve_price
        reserved = reserved_amount + schedule.commission_rate(trade_date).commission(reserved_amount)

    estimated = Fraction(gross, expected_quantity) if expected_quantity else None
    _fill_warnings(order, walk, resting, cancelled, warnings)
    reference = Fraction(limit) if limit is not None else estimated
    if last_price and reference is not None:
        gap = (reference - last_price) / last_price * 100
        if abs(gap) > Fraction(str(far_from_last_pct)):
            direction = "above" if gap > 0 else "below"
            warnings.append(
                f"far from last price: {float(reference):,.0f} is {abs(float(gap)):.1f}% {direction} "
                f"the last price {last_price:,}"
            )
    return PricedOrder(
        order=order,
        market=market,
        trade_date=trade_date,
        phase=book.phase,
        fills=walk.fills,
        filled_quantity=walk.quantity,
        filled_amount=walk.amount,
        resting_quantity=resting,
        cancelled_quantity=cancelled,
        estimated_price=estimated,
        gross_amount=gross,
        costs=costs,
        net_cash_change=net_cash_change(side, gross, costs),
        reserved_cash=reserved,
        warnings=tuple(warnings),
    )


def _waiting_price(order: Order, book: OrderBook, last_price: int | None, base_price: int, warnings: list[str]) -> int:
    """The price an order that cannot trade now is expected to get; explains why in ``warnings``."""
    if book.halted:
        warnings.append("trading halted: nothing fills until trading resumes")
    elif book.phase in AUCTION_PHASES:
        warnings.append(f"call auction ({book.phase.value}): nothing fills before the auction price is set")
    else:
        warnings.append("market closed: the order waits for the next session's opening auction")
    if book.expected_price is not None and not book.halted:
        estimate, source = book.expected_price, "the expected auction price"
    elif last_price:
        estimate, source = last_price, "the last price"
    else:
        estimate, source = base_price, "the base price"
    if order.limit_price is None:
        warnings.append(f"estimated at {source} {estimate:,}")
        return estimate
    if _crosses(order.side, estimate, order.limit_price):
        warnings.append(f"estimated at {source} {estimate:,}")
        return estimate
    warnings.append(f"{source} {estimate:,} does not reach the limit {order.limit_price:,}: estimated at the limit")
    return order.limit_price


def _fill_warnings(order: Order, walk: BookWalk, resting: int, cancelled: int, warnings: list[str]) -> None:
    if walk.levels > 1:
        kind = "market" if order.order_type is OrderType.MARKET else "limit"
        first, last = walk.fills[0][0], walk.fills[-1][0]
        warnings.append(f"{kind} order would walk {walk.levels} levels ({first:,} to {last:,})")
    if cancelled:
        if walk.quantity:
            warnings.append(
                f"partially fillable: {walk.quantity:,} of {order.quantity:,} shares fill now, "
                f"{cancelled:,} would be cancelled"
            )
        else:
            side_name = "asks" if order.side is Side.BUY else "bids"
            if order.limit_price is None:
                why = f"the book has no {side_name}"
            else:
                bound = "at or below" if order.side is Side.BUY else "at or above"
                why = f"no {side_name} {bound} the limit {order.limit_price:,}"
            warnings.append(f"nothing fillable now ({why}): {cancelled:,} shares would be cancelled")
    elif walk.quantity and resting:
        warnings.append(
            f"partially fillable: {walk.quantity:,} of {order.quantity:,} shares fill now, "
            f"{resting:,} rest at {order.limit_price or 0:,}"
        )


@dataclass(frozen=True, slots=True)
class Fill:
    """One fill of a resting order: at ``price`` for ``quantity`` shares, ``remaining`` left after it."""

    price: int
    quantity: int
    remaining: int


def match_limit_order(
    remaining: int,
    limit: int | None,
    side: Side,
    trade_price: int,
    trade_qty: int,
    *,
    auction: bool = False,
    participation_pct: float = 100.0,
) -> Fill | None:
    """The fill a print of ``trade_qty`` shares at ``trade_price`` gives a resting order, or None.

    ``limit`` None is a market order waiting for an auction. ``auction`` says the print is a single-price auction
    (phase pre_open or closing_auction on :class:`kstock.sources.Trade`). ``participation_pct`` caps the
    fill at that share of the print (rounded down).
    """
    if remaining <= 0 or trade_qty <= 0:
        return None
    if not 0 < participation_pct <= 100:
        raise ValueError("participation must be in (0, 100] percent")
    if limit is not None and not _crosses(Side(side), trade_price, limit):
        return None
    available = trade_qty * Fraction(str(participation_pct)) // 100
    quantity = min(remaining, int(available))
    if quantity <= 0:
        return None
    price = trade_price if auction or limit is None else limit
    return Fill(price=price, quantity=quantity, remaining=remaining - quantity)
