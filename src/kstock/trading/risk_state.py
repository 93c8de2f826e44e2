"""The risk state of a paper-trading account, and how losses move it.

States, from the least to the most restrictive:

- ``ACTIVE``: every order the per-order checks accept.
- ``REDUCING``: only orders that reduce a position (sells: there is no short selling, so a sell of at most the
  sellable quantity always reduces).
- ``HALTED``: no new orders.
- ``STOPPED``: stopped explicitly (:func:`stop`); no new orders until :func:`resume`.

Automatic transitions, measured on equity (cash plus holdings at market, KRW):

- Daily loss = (start-of-day equity - equity) / start-of-day equity. At or beyond ``daily_loss_limit_pct`` the
  account is REDUCING.
- Drawdown = (peak equity - equity) / peak equity (the peak is at least the current equity). Its zone
  (:class:`DrawdownZone`) compares it with ``max_drawdown_pct``: NORMAL below ``caution_at_pct`` of the limit
  (default 50%), CAUTION from there (a warning only), DANGER from ``danger_at_pct`` (default 80%) and HALT at 100%
  of the limit. DANGER makes the account REDUCING, HALT makes it HALTED.

:func:`evaluate_state` applies them: the new state is the more restrictive of the current state and the one the
figures call for, so an automatic restriction holds (it latches) for the rest of the trading day even if equity
recovers. At the start of each trading day :func:`start_of_day` lifts REDUCING and HALTED back to ACTIVE, and the
next evaluation, with the new start-of-day equity, restricts again only what the figures still call for. STOPPED is
never left automatically.

A :class:`RiskOverride` (a reason and an expiry) relaxes the automatic transitions while it is active: the state
they produce is capped at the override's ``level`` (default ACTIVE: automatic restrictions suspended). It never
lifts STOPPED. Once it expires the next evaluation applies the figures again.

Percentages are compared exactly from the integer amounts; the floats returned are for display.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum
from fractions import Fraction
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from kstock.trading.risk import RiskLimits

__all__ = [
    "AccountState",
    "DrawdownZone",
    "RiskOverride",
    "allows_order",
    "daily_loss_pct",
    "drawdown_pct",
    "drawdown_zone",
    "evaluate_state",
    "resume",
    "start_of_day",
    "stop",
]


class AccountState(StrEnum):
    ACTIVE = "active"
    REDUCING = "reducing"
    HALTED = "halted"
    STOPPED = "stopped"

    @property
    def severity(self) -> int:
        return _SEVERITY[self]


_SEVERITY: Final = {
    AccountState.ACTIVE: 0,
    AccountState.REDUCING: 1,
    AccountState.HALTED: 2,
    AccountState.STOPPED: 3,
}


class DrawdownZone(StrEnum):
    NORMAL = "normal"
    CAUTION = "caution"
    DANGER = "danger"
    HALT = "halt"


def _stricter(a: AccountState, b: AccountState) -> AccountState:
    return a if a.severity >= b.severity else b


@dataclass(frozen=True, slots=True)
class RiskOverride:
    """A temporary relaxation of the automatic transitions, until ``expires_at`` (aware) and for ``reason``."""

    expires_at: dt.datetime
    reason: str
    level: AccountState = AccountState.ACTIVE  # the most restrictive automatic state while active

    def __post_init__(self) -> None:
        object.__setattr__(self, "level", AccountState(self.level))
        if self.expires_at.tzinfo is None:
            raise ValueError("an override expires at a timezone-aware datetime")
        if not self.reason.strip():
            raise ValueError("an override needs a reason")
        if self.level is AccountState.STOPPED:
            raise ValueError("an override cannot set the stopped state")

    def is_active(self, now: dt.datetime) -> bool:
        if now.tzinfo is None:
            raise ValueError("now must be timezone-aware")
        return now < self.expires_at


def _ratio(loss: int, base: int) -> Fraction | None:
    return Fraction(loss, base) * 100 if base > 0 else None


def _pct(value: float) -> Fraction:
    return Fraction(str(value))


def daily_loss_pct(equity: int, start_of_day_equity: int) -> float:
    """The day's loss in % of the start-of-day equity (negative for a gain; 0.0 without a positive start)."""
    ratio = _ratio(start_of_day_equity - equity, start_of_day_equity)
    return float(ratio) if ratio is not None else 0.0


def drawdown_pct(equity: int, peak_equity: int) -> float:
    """How far equity is below its peak, in % of the peak (0.0 at or above the peak or without a positive peak)."""
    ratio = _ratio(max(peak_equity, equity) - equity, max(peak_equity, equity))
    return float(ratio) if ratio is not None else 0.0


def drawdown_zone(equity: int, peak_equity: int, limits: RiskLimits) -> DrawdownZone:
    """The zone of the current drawdown against ``limits.max_drawdown_pct``."""
    peak = max(peak_equity, equity)
    drawdown = _ratio(peak - equity, peak)
    if drawdown is None:
        return DrawdownZone.NORMAL
    limit = _pct(limits.max_drawdown_pct)
    if drawdown >= limit:
        return DrawdownZone.HALT
    if drawdown >= limit * _pct(limits.danger_at_pct) / 100:
        return DrawdownZone.DANGER
    if drawdown >= limit * _pct(limits.caution_at_pct) / 100:
        return DrawdownZone.CAUTION
    return DrawdownZone.NORMAL


def _automatic(
    equity: int, start_of_day_equity: int, peak_equity: int, limits: RiskLimits
) -> tuple[AccountState, list[str]]:
    state = AccountState.ACTIVE
    reasons: list[str] = []
    daily = _ratio(start_of_day_equity - equity, start_of_day_equity)
    if daily is not None and daily >= _pct(limits.daily_loss_limit_pct):
        state = AccountState.REDUCING
        reasons.append(
            f"daily loss {float(daily):.2f}% reached the {limits.daily_loss_limit_pct:g}% limit: "
            "only position-reducing orders"
        )
    zone = drawdown_zone(equity, peak_equity, limits)
    drawdown = drawdown_pct(equity, peak_equity)
    if zone is DrawdownZone.HALT:
        state = AccountState.HALTED
        reasons.append(f"drawdown {drawdown:.2f}% reached the {limits.max_drawdown_pct:g}% maximum: trading halted")
    elif zone is DrawdownZone.DANGER:
        state = _stricter(state, AccountState.REDUCING)
        reasons.append(f"drawdown {drawdown:.2f}% is in the danger zone: only position-reducing orders")
    elif zone is DrawdownZone.CAUTION:
        reasons.append(f"drawdown {drawdown:.2f}% is in the caution zone")
    return state, reasons


def evaluate_state(
    current_state: AccountState,
    equity: int,
    start_of_day_equity: int,
    peak_equity: int,
    limits: RiskLimits,
    override: RiskOverride | None = None,
    *,
    now: dt.datetime,
) -> tuple[AccountState, list[str]]:
    """The account's state after this evaluation, with the reasons for it (see the module docstring)."""
    current_state = AccountState(current_state)
    if current_state is AccountState.STOPPED:
        return current_state, ["stopped explicitly: no new orders until resumed"]
    automatic, reasons = _automatic(equity, start_of_day_equity, peak_equity, limits)
    state = _stricter(current_state, automatic)
    if state is not automatic and state is not AccountState.ACTIVE:
        reasons.append(f"{state.value} since earlier today: lifted at the start of the next trading day")
    if override is not None and override.is_active(now):
        if state.severity > override.level.severity:
            reasons.append(
                f"override until {override.expires_at.isoformat()} ({override.reason}): "
                f"{state.value} relaxed to {override.level.value}"
            )
            state = override.level
    return state, reasons


def start_of_day(state: AccountState) -> AccountState:
    """The state a new trading day starts from: automatic restrictions lifted, STOPPED kept."""
    state = AccountState(state)
    return state if state is AccountState.STOPPED else AccountState.ACTIVE


def stop() -> AccountState:
    """An explicit stop."""
    return AccountState.STOPPED


def resume() -> AccountState:
    """An explicit resume; the next evaluation restricts again whatever the figures call for."""
    return AccountState.ACTIVE


def allows_order(state: AccountState, *, reduces_position: bool) -> bool:
    """Whether an account in ``state`` may place an order (``reduces_position``: a sell of shares held)."""
    state = AccountState(state)
    if state is AccountState.ACTIVE:
        return True
    return state is AccountState.REDUCING and reduces_position
