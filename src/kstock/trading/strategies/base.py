"""What a trading strategy is to the paper-trading engine: bars in, buy and sell signals out.

A strategy is built from validated parameters (a pydantic model that rejects unknown keys) and the stock codes it
trades. The engine feeds it each stock's bars one at a time, in time order, through :meth:`Strategy.on_bar`; the
strategy keeps its own state per stock and answers with the signals that bar's close produced (usually none).

- A bar for a stock the strategy was not configured with is ignored (no signals).
- Odd data raises :class:`StrategyError` and nothing else, so the engine can catch it and disable the strategy: a bar
  that is not a :class:`~kstock.sources.MinuteBar` or :class:`~kstock.sources.DailyBar`, a bar
  whose code differs from the one it is fed for, a price that is not a positive integer, a bar not strictly after
  the stock's previous one, minute and daily bars mixed for one stock. Any other failure inside a strategy comes
  out as a :class:`StrategyError` too (with the original as its cause).
- A signal's ``bar_time`` is the bar's own time (a minute bar's ``start``, a daily bar's ``trade_date``); the signal
  is known at that bar's close, which is its ``price_hint``. ``strength`` is in [0, 1], each strategy defining it.
"""

from __future__ import annotations

import datetime as dt
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict

from kstock.sources import DailyBar, MinuteBar

__all__ = [
    "Bar",
    "Moment",
    "Parameters",
    "Side",
    "Signal",
    "Strategy",
    "StrategyError",
    "StrategySpec",
    "bar_time",
]

Side = Literal["buy", "sell"]
Bar = MinuteBar | DailyBar
Moment = dt.date | dt.datetime

P = TypeVar("P", bound="Parameters")
S = TypeVar("S")


class StrategyError(Exception):
    """A strategy met data it cannot use, or failed; the engine should disable it."""


class Parameters(BaseModel):
    """Base of the parameter models: unknown keys rejected, no NaN or infinity, immutable once validated."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, frozen=True)


@dataclass(frozen=True, slots=True)
class Signal:
    """A strategy's call to buy or sell ``code``, made at the close of the bar at ``bar_time``."""

    code: str
    side: Side
    reason: str
    strength: float  # 0 (barely) to 1 (as strong as the strategy gets)
    bar_time: Moment
    price_hint: int  # KRW: the close of the bar that produced the signal


def bar_time(bar: Bar) -> Moment:
    """A minute bar's ``start`` or a daily bar's ``trade_date``."""
    return bar.start if isinstance(bar, MinuteBar) else bar.trade_date


def _positive_price(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


class Strategy(ABC, Generic[P, S]):
    """A strategy over a fixed list of stocks; subclasses define the per-stock state and what one close does to it.

    Subclasses set ``name`` and implement :meth:`warmup_bars`, :meth:`_new_state` and :meth:`_on_close`.
    """

    name: ClassVar[str]

    def __init__(self, params: P, codes: Iterable[str]) -> None:
        unique = list(dict.fromkeys(codes))
        if not unique:
            raise ValueError("a strategy needs at least one stock code")
        if not all(isinstance(code, str) and code for code in unique):
            raise ValueError("stock codes must be non-empty strings")
        self._params = params
        self._codes = tuple(unique)
        self._states: dict[str, S] = {}
        self._last_time: dict[str, Moment] = {}

    @property
    def params(self) -> P:
        return self._params

    @property
    def codes(self) -> tuple[str, ...]:
        """The configured stock codes, without repeats, in the order given."""
        return self._codes

    @property
    @abstractmethod
    def warmup_bars(self) -> int:
        """The number of a stock's bars up to and including the first one that can produce a signal."""

    def on_bar(self, code: str, bar: Bar) -> list[Signal]:
        """The signals the close of ``bar`` (the next bar of ``code``) produces; ``StrategyError`` for odd data."""
        if code not in self._codes:
            return []
        when = self._check(code, bar)
        state = self._states.get(code)
        if state is None:
            state = self._states[code] = self._new_state()
        try:
            signals = self._on_close(code, state, bar.close, when)
        except StrategyError:
            raise
        except Exception as error:
            raise StrategyError(f"{self.name}: {code} at {when.isoformat()}: {error}") from error
        self._last_time[code] = when
        return signals

    def reset(self, code: str | None = None) -> None:
        """Forget the state of ``code`` (of every stock when None): it starts over with its next bar."""
        if code is None:
            self._states.clear()
            self._last_time.clear()
        else:
            self._states.pop(code, None)
            self._last_time.pop(code, None)

    def _check(self, code: str, bar: object) -> Moment:
        """The bar's time, after checking the bar (see the module's rules)."""
        if not isinstance(bar, MinuteBar | DailyBar):
            raise StrategyError(f"{self.name}: {code}: expected a minute or daily bar, got {type(bar).__name__}")
        when = bar_time(bar)
        if bar.code != code:
            raise StrategyError(f"{self.name}: bar of {bar.code!r} fed as {code!r}")
        for label in ("open", "high", "low", "close"):
            value = getattr(bar, label)
            if not _positive_price(value):
                raise StrategyError(
                    f"{self.name}: {code} at {when.isoformat()}: {label} {value!r} is not a positive price"
                )
        previous = self._last_time.get(code)
        if previous is not None:
            if isinstance(previous, dt.datetime) != isinstance(when, dt.datetime):
                raise StrategyError(f"{self.name}: {code}: minute and daily bars mixed")
            try:
                in_order = when > previous
            except TypeError as error:  # aware and naive datetimes
                raise StrategyError(f"{self.name}: {code}: {error}") from error
            if not in_order:
                raise StrategyError(
                    f"{self.name}: {code}: bar at {when.isoformat()} is not after the previous one "
                    f"({previous.isoformat()})"
                )
        return when

    @abstractmethod
    def _new_state(self) -> S:
        """The state of a stock before its first bar."""

    @abstractmethod
    def _on_close(self, code: str, state: S, close: int, when: Moment) -> list[Signal]:
        """Update ``state`` with the next close of ``code`` and return the signals it produces."""


@dataclass(frozen=True, slots=True)
class StrategySpec(Generic[P]):
    """A built-in strategy as the API lists it: its name, what it does, its parameter model and how to build it."""

    name: str
    description: str
    parameters: type[P]
    factory: Callable[[P, Sequence[str]], Strategy[P, Any]]

    def parameter_schema(self) -> dict[str, Any]:
        """The JSON Schema of the parameters (defaults, bounds, descriptions)."""
        return self.parameters.model_json_schema()

    def parse_parameters(self, raw: Mapping[str, Any] | None = None) -> P:
        """Validated parameters, defaults filled in; ``pydantic.ValidationError`` (a ``ValueError``) otherwise."""
        return self.parameters.model_validate(dict(raw or {}))

    def build(self, raw: Mapping[str, Any] | None, codes: Sequence[str]) -> Strategy[P, Any]:
        """A new strategy over ``codes`` from raw parameters (see :meth:`parse_parameters`)."""
        return self.factory(self.parse_parameters(raw), codes)
