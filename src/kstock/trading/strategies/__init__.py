"""The built-in trading strategies of paper trading and the registry the API lists them from.

``STRATEGIES`` maps each strategy's name to its :class:`StrategySpec`: a description, the pydantic model of its
parameters (its JSON Schema for the API) and a factory. ``STRATEGIES[name].build(raw_params, codes)`` validates the
parameters and returns a fresh :class:`Strategy`; see :mod:`kstock.trading.strategies.base` for how the engine
drives it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from kstock.trading.strategies.base import (
    Bar,
    Moment,
    Parameters,
    Side,
    Signal,
    Strategy,
    StrategyError,
    StrategySpec,
    bar_time,
)
from kstock.trading.strategies.ma_cross import MA_CROSS, MovingAverageCross, MovingAverageCrossParams
from kstock.trading.strategies.rsi_reversion import RSI_REVERSION, RsiReversion, RsiReversionParams, WilderRsi

__all__ = [
    "MA_CROSS",
    "RSI_REVERSION",
    "STRATEGIES",
    "Bar",
    "Moment",
    "MovingAverageCross",
    "MovingAverageCrossParams",
    "Parameters",
    "RsiReversion",
    "RsiReversionParams",
    "Side",
    "Signal",
    "Strategy",
    "StrategyError",
    "StrategySpec",
    "WilderRsi",
    "bar_time",
    "create_strategy",
]

STRATEGIES: Final[dict[str, StrategySpec[Any]]] = {spec.name: spec for spec in (MA_CROSS, RSI_REVERSION)}


def create_strategy(name: str, params: Mapping[str, Any] | None, codes: Sequence[str]) -> Strategy[Any, Any]:
    """A new strategy of the registered ``name`` over ``codes``.

    ``KeyError`` for an unknown name; ``pydantic.ValidationError`` (a ``ValueError``) for invalid parameters;
    ``ValueError`` for an empty list of codes.
    """
    spec = STRATEGIES.get(name)
    if spec is None:
        raise KeyError(f"unknown strategy {name!r}; known: {', '.join(sorted(STRATEGIES))}")
    return spec.build(params, codes)
