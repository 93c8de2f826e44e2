"""Orders (주문) of a paper-trading account and their validation.

An :class:`Order` buys or sells a positive number of shares, at the market (시장가) or at a limit price (지정가),
for the day or immediate-or-cancel (IOC). :func:`validate_order` lists everything wrong with one as
:class:`OrderProblem` values, each with a stable code, a sentence and the figures behind it:

- ``QUANTITY_NOT_POSITIVE``: the quantity is zero or negative.
- ``LIMIT_PRICE_REQUIRED`` / ``LIMIT_PRICE_NOT_ALLOWED``: a limit order without a limit price, a market order with
  one.
- ``PRICE_NOT_POSITIVE``; ``PRICE_OFF_TICK``: the limit price is not on the KRX tick grid, with the tick and the
  nearest valid prices ``below`` and ``above``.
- ``PRICE_OUTSIDE_BAND``: the limit price is outside the day's price band (``lower``, ``upper``), computed from the
  base price (the previous close) with :func:`kstock.kit.krx.price_limits`: +-30%, KONEX +-15%.
- ``IOC_NOT_ACCEPTED``: an IOC order outside continuous trading (call auctions, a closed market) or while the stock
  is halted; as on KRX, nothing can fill immediately then.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from kstock.kit.krx import is_on_tick, price_limits, round_down_to_tick, round_up_to_tick, tick_size
from kstock.sources import Phase
from kstock.trading.costs import Side

__all__ = [
    "InvalidOrderError",
    "Order",
    "OrderProblem",
    "OrderType",
    "Side",
    "TimeInForce",
    "band_problem",
    "tick_problem",
    "validate_order",
]


class OrderType(StrEnum):
    MARKET = "market"
    LIMIT = "limit"


class TimeInForce(StrEnum):
    DAY = "day"
    IOC = "ioc"


@dataclass(frozen=True, slots=True)
class Order:
    """What an account asks for. Strings are accepted for the enums (ValueError for an unknown one, or for a quantity
    or a limit price that is not an integer); :func:`validate_order` checks the rest."""

    side: Side
    order_type: OrderType
    quantity: int
    limit_price: int | None = None  # required for limit orders, forbidden for market orders
    time_in_force: TimeInForce = TimeInForce.DAY

    def __post_init__(self) -> None:
        object.__setattr__(self, "side", Side(self.side))
        object.__setattr__(self, "order_type", OrderType(self.order_type))
        object.__setattr__(self, "time_in_force", TimeInForce(self.time_in_force))
        if not _is_int(self.quantity):
            raise ValueError(f"the quantity must be a whole number of shares, got {self.quantity!r}")
        if self.limit_price is not None and not _is_int(self.limit_price):
            raise ValueError(f"the limit price must be a whole number of KRW, got {self.limit_price!r}")


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass(frozen=True, slots=True)
class OrderProblem:
    """Why an order cannot be accepted: a stable code, a sentence, and the figures behind it."""

    code: str
    message: str
    details: Mapping[str, int | str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        return {"code": self.code, "message": self.message, "details": dict(self.details)}


class InvalidOrderError(ValueError):
    """Raised by :func:`price_order` for an order :func:`validate_order` finds problems with."""

    def __init__(self, problems: Sequence[OrderProblem]) -> None:
        self.problems = tuple(problems)
        super().__init__("; ".join(p.message for p in self.problems))


def tick_problem(price: int) -> OrderProblem | None:
    """None when ``price`` is a valid KRX price, else the problem with the nearest valid prices below and above."""
    if price <= 0:
        return OrderProblem("PRICE_NOT_POSITIVE", f"the limit price must be positive, got {price:,}", {"price": price})
    if is_on_tick(price):
        return None
    tick = tick_size(price)
    below, above = round_down_to_tick(price), round_up_to_tick(price)
    return OrderProblem(
        "PRICE_OFF_TICK",
        f"{price:,} is not on the tick grid (tick {tick:,} KRW at this price): the nearest valid prices are "
        f"{below:,} and {above:,}",
        {"price": price, "tick": tick, "below": below, "above": above},
    )


def band_problem(price: int, base_price: int, market: str) -> OrderProblem | None:
    """None when ``price`` is inside the day's price band around ``base_price``, else the problem with the band."""
    lower, upper = price_limits(base_price, market)
    if lower <= price <= upper:
        return None
    return OrderProblem(
        "PRICE_OUTSIDE_BAND",
        f"{price:,} is outside today's price band {lower:,} to {upper:,} (base price {base_price:,})",
        {"price": price, "lower": lower, "upper": upper, "base_price": base_price},
    )


def validate_order(
    order: Order, *, base_price: int, market: str, phase: Phase = Phase.CONTINUOUS, halted: bool = False
) -> list[OrderProblem]:
    """Every problem of ``order`` for a stock of ``market`` whose base price is ``base_price``; empty when valid."""
    if base_price <= 0:
        raise ValueError("the base price must be positive")
    problems: list[OrderProblem] = []
    if order.quantity <= 0:
        problems.append(
            OrderProblem(
                "QUANTITY_NOT_POSITIVE",
                f"the quantity must be a positive number of shares, got {order.quantity:,}",
                {"quantity": order.quantity},
            )
        )
    if order.order_type is OrderType.LIMIT:
        if order.limit_price is None:
            problems.append(OrderProblem("LIMIT_PRICE_REQUIRED", "a limit order needs a limit price"))
        else:
            problems.extend(
                p
                for p in (tick_problem(order.limit_price), band_problem(order.limit_price, base_price, market))
                if p is not None
            )
    elif order.limit_price is not None:
        problems.append(
            OrderProblem(
                "LIMIT_PRICE_NOT_ALLOWED",
                "a market order takes no limit price",
                {"limit_price": order.limit_price},
            )
        )
    if order.time_in_force is TimeInForce.IOC and (phase is not Phase.CONTINUOUS or halted):
        when = "while the stock is halted" if halted else f"during {phase.value.replace('_', ' ')}"
        problems.append(
            OrderProblem(
                "IOC_NOT_ACCEPTED",
                f"IOC orders are accepted only in continuous trading, not {when}",
                {"phase": phase.value},
            )
        )
    return problems
