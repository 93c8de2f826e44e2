"""Moving-average crossover: buy when the fast simple moving average of the closes crosses above the slow one,
sell when it crosses below.

- SMA_n = mean of the last n closes (the bar's own included). Both exist from a stock's ``slow``-th bar on; before
  that there is no signal.
- The side of a bar is the sign of SMA_fast - SMA_slow, compared exactly (fast sum x slow vs slow sum x fast, in
  integers). A bar where the averages are equal has no side. A cross is a bar whose side is the opposite of the
  last bar that had one: above after below is a buy, below after above a sell. So each cross gives exactly one
  signal, equal averages in between or not, and the first side a stock takes gives none.
- Strength = |SMA_fast - SMA_slow| / SMA_slow at the cross, divided by 1% and capped at 1: a gap of 1% of the slow
  average or more is full strength.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Annotated, ClassVar, Final

from pydantic import Field, Strict, model_validator

from kstock.trading.strategies.base import Moment, Parameters, Signal, Strategy, StrategySpec

__all__ = ["MA_CROSS", "MovingAverageCross", "MovingAverageCrossParams"]

MAX_LENGTH: Final = 500
_FULL_STRENGTH_GAP: Final = 0.01

Length = Annotated[int, Strict(), Field(ge=1, le=MAX_LENGTH)]


class MovingAverageCrossParams(Parameters):
    """Parameters of the moving-average crossover."""

    fast: Length = Field(5, description="bars in the fast simple moving average; less than slow")
    slow: Length = Field(20, description="bars in the slow simple moving average")

    @model_validator(mode="after")
    def _fast_below_slow(self) -> MovingAverageCrossParams:
        if self.fast >= self.slow:
            raise ValueError(f"fast ({self.fast}) must be less than slow ({self.slow})")
        return self


@dataclass(slots=True)
class _State:
    closes: deque[int] = field(default_factory=deque)  # the last ``slow`` closes
    fast_sum: int = 0
    slow_sum: int = 0
    side: int = 0  # sign of SMA_fast - SMA_slow at the last bar that had one; 0 before


class MovingAverageCross(Strategy[MovingAverageCrossParams, _State]):
    """Buys on a golden cross and sells on a dead cross of two simple moving averages (see the module)."""

    name: ClassVar[str] = "ma_cross"

    @property
    def warmup_bars(self) -> int:
        return self.params.slow + 1

    def _new_state(self) -> _State:
        return _State()

    def _on_close(self, code: str, state: _State, close: int, when: Moment) -> list[Signal]:
        fast, slow = self.params.fast, self.params.slow
        closes = state.closes
        closes.append(close)
        state.fast_sum += close
        state.slow_sum += close
        if len(closes) > fast:
            state.fast_sum -= closes[-fast - 1]
        if len(closes) > slow:
            state.slow_sum -= closes.popleft()
        if len(closes) < slow:
            return []
        gap = state.fast_sum * slow - state.slow_sum * fast  # (SMA_fast - SMA_slow) x fast x slow
        side = (gap > 0) - (gap < 0)
        if side == 0:
            return []
        crossed = state.side == -side
        state.side = side
        if not crossed:
            return []
        fast_average, slow_average = state.fast_sum / fast, state.slow_sum / slow
        relative_gap = abs(gap) / (fast * state.slow_sum)
        direction = "above" if side > 0 else "below"
        return [
            Signal(
                code=code,
                side="buy" if side > 0 else "sell",
                reason=f"SMA{fast} {fast_average:,.2f} crossed {direction} SMA{slow} {slow_average:,.2f}",
                strength=min(1.0, relative_gap / _FULL_STRENGTH_GAP),
                bar_time=when,
                price_hint=close,
            )
        ]


MA_CROSS: Final = StrategySpec(
    name=MovingAverageCross.name,
    description=(
        "Moving-average crossover: buy when the fast simple moving average of the closes crosses above the slow "
        "one, sell when it crosses below; one signal per cross, none until both averages exist."
    ),
    parameters=MovingAverageCrossParams,
    factory=MovingAverageCross,
)
