"""RSI mean reversion: buy when Wilder's RSI climbs back out of the oversold zone, sell when it falls back out of
the overbought zone.

- Wilder's RSI over ``period`` closes (:class:`WilderRsi`, the definition of ``rsi_14`` in
  :mod:`kstock.market.indicators`, with any period): the first average gain (loss) is the mean of the first
  ``period`` close-to-close gains (losses, as positive amounts); each later one is
  (previous average x (period - 1) + the bar's gain (loss)) / period. RSI = 100 - 100 / (1 + avg_gain / avg_loss)
  = 100 x avg_gain / (avg_gain + avg_loss): 100 with gains only, undefined (no signal) when both averages are 0.
  The first RSI comes at a stock's bar ``period + 1``.
- Buy: the RSI is above ``oversold`` and the last RSI that was not exactly ``oversold`` was below it (it crossed up
  through the level). Sell: the RSI is below ``overbought`` and the last RSI that was not exactly ``overbought``
  was above it. An RSI equal to a level is on neither side, so each crossing gives exactly one signal, and the
  first RSI of a stock gives none.
- Strength: of a buy, how deep the RSI went below ``oversold`` on its way, (oversold - lowest RSI) / oversold; of a
  sell, how high it went above ``overbought``, (highest RSI - overbought) / (100 - overbought). Both in [0, 1].
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, ClassVar, Final

from pydantic import Field, Strict, model_validator

from kstock.trading.strategies.base import Moment, Parameters, Signal, Strategy, StrategySpec

__all__ = ["RSI_REVERSION", "RsiReversion", "RsiReversionParams", "WilderRsi"]

MAX_PERIOD: Final = 500

Level = Annotated[float, Strict(), Field(gt=0, lt=100)]


class WilderRsi:
    """Wilder's RSI over ``period`` closes, one close at a time (see the module)."""

    __slots__ = ("_avg_gain", "_avg_loss", "_changes", "_loss_sum", "_gain_sum", "_previous", "period")

    def __init__(self, period: int = 14) -> None:
        if period < 1:
            raise ValueError(f"period must be at least 1, got {period}")
        self.period = period
        self._previous: float | None = None
        self._changes = 0
        self._gain_sum: float = 0  # of the first ``period`` changes, exact for integer closes
        self._loss_sum: float = 0
        self._avg_gain = 0.0
        self._avg_loss = 0.0

    def update(self, close: float) -> float | None:
        """Take the next close; the RSI after it, None before the first ``period`` changes or with neither gain nor
        loss."""
        previous, self._previous = self._previous, close
        if previous is None:
            return None
        change = close - previous
        gain, loss = max(change, 0), max(-change, 0)
        self._changes += 1
        n = self.period
        if self._changes < n:
            self._gain_sum += gain
            self._loss_sum += loss
            return None
        if self._changes == n:
            self._avg_gain = (self._gain_sum + gain) / n
            self._avg_loss = (self._loss_sum + loss) / n
        else:
            self._avg_gain = (self._avg_gain * (n - 1) + gain) / n
            self._avg_loss = (self._avg_loss * (n - 1) + loss) / n
        return self.value

    @property
    def value(self) -> float | None:
        """The latest RSI (0 to 100), None when not defined yet."""
        total = self._avg_gain + self._avg_loss
        if self._changes < self.period or total <= 0:
            return None
        return 100.0 * self._avg_gain / total


class RsiReversionParams(Parameters):
    """Parameters of the RSI mean reversion."""

    period: Annotated[int, Strict(), Field(ge=2, le=MAX_PERIOD)] = Field(
        14, description="closes in Wilder's RSI (its smoothing length)"
    )
    oversold: Level = Field(30.0, description="buy when the RSI crosses up through this level; below overbought")
    overbought: Level = Field(70.0, description="sell when the RSI crosses down through this level")

    @model_validator(mode="after")
    def _levels_in_order(self) -> RsiReversionParams:
        if self.oversold >= self.overbought:
            raise ValueError(f"oversold ({self.oversold:g}) must be less than overbought ({self.overbought:g})")
        return self


@dataclass(slots=True)
class _State:
    rsi: WilderRsi
    below_oversold: bool | None = None  # where the last RSI not equal to oversold was; None before any
    above_overbought: bool | None = None
    lowest: float = field(default=100.0)  # the lowest RSI since it last went below oversold
    highest: float = field(default=0.0)  # the highest RSI since it last went above overbought


class RsiReversion(Strategy[RsiReversionParams, _State]):
    """Buys when the RSI leaves the oversold zone upwards and sells when it leaves the overbought zone downwards."""

    name: ClassVar[str] = "rsi_reversion"

    @property
    def warmup_bars(self) -> int:
        return self.params.period + 2

    def _new_state(self) -> _State:
        return _State(WilderRsi(self.params.period))

    def _on_close(self, code: str, state: _State, close: int, when: Moment) -> list[Signal]:
        previous = state.rsi.value
        rsi = state.rsi.update(close)
        if rsi is None:
            return []
        params = self.params
        oversold, overbought = params.oversold, params.overbought
        signals: list[Signal] = []
        label = f"RSI{params.period}"
        was = "n/a" if previous is None else f"{previous:.2f}"
        if rsi != oversold:
            below = rsi < oversold
            if below and state.below_oversold is not True:
                state.lowest = rsi
            elif below:
                state.lowest = min(state.lowest, rsi)
            elif state.below_oversold:
                signals.append(
                    Signal(
                        code=code,
                        side="buy",
                        reason=f"{label} crossed up through {oversold:g} ({was} -> {rsi:.2f})",
                        strength=min(1.0, max(0.0, (oversold - state.lowest) / oversold)),
                        bar_time=when,
                        price_hint=close,
                    )
                )
            state.below_oversold = below
        if rsi != overbought:
            above = rsi > overbought
            if above and state.above_overbought is not True:
                state.highest = rsi
            elif above:
                state.highest = max(state.highest, rsi)
            elif state.above_overbought:
                signals.append(
                    Signal(
                        code=code,
                        side="sell",
                        reason=f"{label} crossed down through {overbought:g} ({was} -> {rsi:.2f})",
                        strength=min(1.0, max(0.0, (state.highest - overbought) / (100.0 - overbought))),
                        bar_time=when,
                        price_hint=close,
                    )
                )
            state.above_overbought = above
        return signals


RSI_REVERSION: Final = StrategySpec(
    name=RsiReversion.name,
    description=(
        "RSI mean reversion: buy when Wilder's RSI crosses up through the oversold level, sell when it crosses "
        "down through the overbought level."
    ),
    parameters=RsiReversionParams,
    factory=RsiReversion,
)
