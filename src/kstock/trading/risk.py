"""Per-order risk checks of a paper-trading account, and the limits they enforce.

Each check returns a :class:`CheckResult` (a name, whether it passed, a sentence saying why);
:func:`check_order` runs them all for one order, in this order:

- ``account_state``: ACTIVE accepts any order, REDUCING only position-reducing ones (sells), HALTED and STOPPED
  none (:mod:`kstock.trading.risk_state`).
- ``tick`` and ``limit_band``: the limit price is on the KRX tick grid and inside the day's price band (market
  orders pass both).
- ``max_order_value``: the order's estimated amount (:attr:`PricedOrder.gross_amount`) is at most
  ``max_order_value`` KRW.
- ``max_position_weight``: after a buy, the stock's weight in the account is at most ``max_position_weight_pct``:
  (its holding at market + the buy's amount) / (equity - the buy's costs). Sells pass: they only lower it.
- ``available_cash``: a buy's reservation (:attr:`PricedOrder.reserved_cash`: amount and commission) fits within
  the buying power, which is settlement-aware cash less what open buys already reserve
  (:func:`kstock.trading.settlement.buying_power`). Sells pass.
- ``sellable_quantity``: a sell is at most the shares held less those already in open sell orders. Buys pass.
- ``order_rate``: fewer than ``max_orders_per_second`` orders of the account in the second before ``now`` (the
  caller passes the times of its recent orders).

The checks that need the order's figures (value, weight, cash) are left out when the order could not be priced
(``priced`` None, e.g. an invalid limit price: the tick or band check says why).

:class:`RiskLimits` holds the limits (defaults below); :meth:`RiskLimits.from_mapping` builds one from settings,
rejecting unknown keys and bad values with :class:`RiskLimitsError`, which lists every one of them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from fractions import Fraction
from typing import Any, ClassVar, Final

from kstock.trading.costs import Side
from kstock.trading.orders import Order, OrderType, band_problem, tick_problem
from kstock.trading.pricing import PricedOrder
from kstock.trading.risk_state import (
    AccountState,
    DrawdownZone,
    RiskOverride,
    allows_order,
    drawdown_zone,
    evaluate_state,
)

__all__ = [
    "AccountSnapshot",
    "AccountState",
    "CheckResult",
    "DrawdownZone",
    "RiskLimits",
    "RiskLimitsError",
    "RiskOverride",
    "all_passed",
    "check_account_state",
    "check_cash",
    "check_limit_band",
    "check_order",
    "check_order_rate",
    "check_order_value",
    "check_position_weight",
    "check_sellable",
    "check_tick",
    "drawdown_zone",
    "evaluate_state",
    "failures",
]

RATE_WINDOW: Final = dt.timedelta(seconds=1)
# The whole-number limits' bounds, inclusive (the request model declares the same, so the API document shows
# them). Percentages are in (0, 100].
INT_BOUNDS: Final = {
    "max_order_value": (1, 10**13),  # KRW: the largest starting cash an account may have
    "max_orders_per_second": (1, 100),
}
PCT_MAX: Final = 100.0


class RiskLimitsError(ValueError):
    """Unknown keys or bad values for :class:`RiskLimits`; ``errors`` maps each key to what is wrong."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        self.errors = dict(errors)
        super().__init__("invalid risk limits: " + "; ".join(f"{key}: {why}" for key, why in self.errors.items()))


@dataclass(frozen=True, slots=True)
class RiskLimits:
    """The limits of one account. Percentages are in (0, 100]; amounts and counts are positive integers."""

    max_order_value: int = 100_000_000  # KRW per order
    max_position_weight_pct: float = 30.0  # one stock's share of equity after a buy
    max_orders_per_second: int = 1
    daily_loss_limit_pct: float = 5.0  # of start-of-day equity: REDUCING beyond
    max_drawdown_pct: float = 20.0  # from peak equity: HALTED beyond
    caution_at_pct: float = 50.0  # of max_drawdown_pct: the CAUTION zone starts
    danger_at_pct: float = 80.0  # of max_drawdown_pct: the DANGER zone starts (REDUCING)

    _INTS: ClassVar[frozenset[str]] = frozenset({"max_order_value", "max_orders_per_second"})

    def __post_init__(self) -> None:
        errors: dict[str, str] = {}
        for f in fields(self):
            why = _bad_value(f.name, getattr(self, f.name), f.name in self._INTS)
            if why:
                errors[f.name] = why
        if not errors and self.caution_at_pct > self.danger_at_pct:
            errors["caution_at_pct"] = f"must not exceed danger_at_pct ({self.danger_at_pct:g})"
        if errors:
            raise RiskLimitsError(errors)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> RiskLimits:
        """Limits from settings; missing keys keep their defaults."""
        known = {f.name for f in fields(cls)}
        errors = {key: "unknown key" for key in sorted(set(data) - known, key=str)}
        for key in sorted(set(data) & known):
            why = _bad_value(key, data[key], key in cls._INTS)
            if why:
                errors[key] = why
        if errors:
            raise RiskLimitsError(errors)
        return cls(**{key: data[key] for key in data})

    @classmethod
    def from_stored(cls, data: Mapping[str, Any]) -> RiskLimits:
        """Limits kept on an account: as :meth:`from_mapping`, but a number outside its bounds (stored before the
        bounds existed) acts as the nearest bound, so an old account keeps working."""
        known = {f.name for f in fields(cls)}
        clamped: dict[str, Any] = {}
        for key, value in data.items():
            if key in INT_BOUNDS and isinstance(value, int) and not isinstance(value, bool):
                low, high = INT_BOUNDS[key]
                value = min(max(value, low), high)
            elif key in known and key not in INT_BOUNDS and isinstance(value, int | float) and value > PCT_MAX:
                value = PCT_MAX
            clamped[key] = value
        return cls.from_mapping(clamped)

    def to_dict(self) -> dict[str, int | float]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def _bad_value(name: str, value: object, integer: bool) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return f"must be a number, got {value!r}"
    if integer:
        if not isinstance(value, int):
            return f"must be a whole number, got {value!r}"
        low, high = INT_BOUNDS[name]
        if value < low:
            return f"must be positive, got {value!r}" if low == 1 else f"must be at least {low}, got {value!r}"
        return None if value <= high else f"must be at most {high:_}, got {value!r}".replace("_", ",")
    if not 0 < value <= PCT_MAX:  # NaN fails too
        return f"must be a percentage in (0, 100], got {value!r}"
    return None


@dataclass(frozen=True, slots=True)
class CheckResult:
    name: str
    passed: bool
    detail: str

    def to_dict(self) -> dict[str, object]:
        return {"name": self.name, "passed": self.passed, "detail": self.detail}


@dataclass(frozen=True, slots=True)
class AccountSnapshot:
    """What the checks need to know about the account, and about its holding of the order's stock (KRW)."""

    equity: int  # cash plus holdings at market
    buying_power: int  # settlement.buying_power: already net of open buys' reservations
    state: AccountState = AccountState.ACTIVE
    held_quantity: int = 0  # shares of the order's stock held
    open_sell_quantity: int = 0  # of those, already in open sell orders
    position_value: int = 0  # the holding at market
    recent_order_times: tuple[dt.datetime, ...] = ()  # when the account's recent orders were placed


def check_account_state(state: AccountState, side: Side) -> CheckResult:
    state = AccountState(state)
    passed = allows_order(state, reduces_position=side is Side.SELL)
    if state is AccountState.ACTIVE:
        detail = "account active"
    elif state is AccountState.REDUCING:
        detail = "account reducing: sells accepted" if passed else "account reducing: only sells are accepted"
    else:
        detail = f"account {state.value}: no new orders"
    return CheckResult("account_state", passed, detail)


def check_tick(order: Order) -> CheckResult:
    if order.order_type is OrderType.MARKET or order.limit_price is None:
        return CheckResult("tick", True, "no limit price to check")
    problem = tick_problem(order.limit_price)
    if problem is None:
        return CheckResult("tick", True, f"{order.limit_price:,} is on the tick grid")
    return CheckResult("tick", False, problem.message)


def check_limit_band(order: Order, base_price: int, market: str) -> CheckResult:
    if order.order_type is OrderType.MARKET or order.limit_price is None:
        return CheckResult("limit_band", True, "no limit price to check")
    problem = band_problem(order.limit_price, base_price, market)
    if problem is None:
        return CheckResult("limit_band", True, f"{order.limit_price:,} is inside today's price band")
    return CheckResult("limit_band", False, problem.message)


def check_order_value(amount: int, limits: RiskLimits) -> CheckResult:
    passed = amount <= limits.max_order_value
    relation = "within" if passed else "exceeds"
    return CheckResult(
        "max_order_value", passed, f"order value {amount:,} KRW {relation} the {limits.max_order_value:,} KRW limit"
    )


def check_position_weight(
    side: Side, position_value: int, amount: int, fees: int, equity: int, limits: RiskLimits
) -> CheckResult:
    if side is Side.SELL:
        return CheckResult("max_position_weight", True, "a sell lowers the position's weight")
    equity_after = equity - fees
    if equity_after <= 0:
        return CheckResult("max_position_weight", False, "no positive equity to weigh the position against")
    weight = Fraction(position_value + amount, equity_after) * 100
    passed = weight <= Fraction(str(limits.max_position_weight_pct))
    relation = "within" if passed else "exceeds"
    return CheckResult(
        "max_position_weight",
        passed,
        f"position weight after the order {float(weight):.2f}% {relation} the {limits.max_position_weight_pct:g}% "
        "limit",
    )


def check_cash(side: Side, required: int, buying_power: int) -> CheckResult:
    if side is Side.SELL:
        return CheckResult("available_cash", True, "a sell needs no cash")
    passed = required <= buying_power
    if passed:
        detail = f"needs {required:,} KRW of {buying_power:,} KRW buying power"
    else:
        detail = f"needs {required:,} KRW but buying power is {buying_power:,} KRW (short {required - buying_power:,})"
    return CheckResult("available_cash", passed, detail)


def check_sellable(side: Side, quantity: int, held: int, open_sell: int) -> CheckResult:
    if side is Side.BUY:
        return CheckResult("sellable_quantity", True, "a buy sells nothing")
    sellable = max(0, held - open_sell)
    passed = quantity <= sellable
    relation = "within" if passed else "exceeds"
    return CheckResult(
        "sellable_quantity",
        passed,
        f"selling {quantity:,} {relation} the {sellable:,} sellable shares ({held:,} held, {open_sell:,} in open "
        "sell orders)",
    )


def check_order_rate(now: dt.datetime, recent_order_times: Iterable[dt.datetime], limits: RiskLimits) -> CheckResult:
    """At most ``max_orders_per_second`` orders in any second: this one counts with those in (now - 1 s, now]."""
    window_start = now - RATE_WINDOW
    recent = sum(1 for t in recent_order_times if window_start < t <= now)
    passed = recent < limits.max_orders_per_second
    if passed:
        detail = f"{recent:,} orders in the last second, limit {limits.max_orders_per_second:,} per second"
    else:
        detail = f"{recent:,} orders in the last second already: limit {limits.max_orders_per_second:,} per second"
    return CheckResult("order_rate", passed, detail)


def check_order(
    order: Order,
    priced: PricedOrder | None,
    account: AccountSnapshot,
    limits: RiskLimits,
    *,
    base_price: int,
    market: str,
    now: dt.datetime,
) -> list[CheckResult]:
    """Every check of ``order`` for ``account``; those needing figures only when ``priced`` is given."""
    results = [
        check_account_state(account.state, order.side),
        check_tick(order),
        check_limit_band(order, base_price, market),
    ]
    if priced is not None:
        results += [
            check_order_value(priced.gross_amount, limits),
            check_position_weight(
                order.side, account.position_value, priced.gross_amount, priced.costs.total, account.equity, limits
            ),
            check_cash(order.side, priced.reserved_cash, account.buying_power),
        ]
    results += [
        check_sellable(order.side, order.quantity, account.held_quantity, account.open_sell_quantity),
        check_order_rate(now, account.recent_order_times, limits),
    ]
    return results


def all_passed(results: Sequence[CheckResult]) -> bool:
    return all(r.passed for r in results)


def failures(results: Sequence[CheckResult]) -> list[CheckResult]:
    return [r for r in results if not r.passed]
