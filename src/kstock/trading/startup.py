"""Paper trading's settings, checked when the server starts (one of ``kstock.app.STARTUP_CHECKS``)."""

from __future__ import annotations

import orjson

from kstock.config import ConfigurationError, Settings
from kstock.trading.costs import CostSchedule


def check_settings(settings: Settings) -> None:
    """Refuse a ``KSTOCK_TRADING_COSTS`` that is not a valid cost schedule: at start, not at the first order."""
    if not settings.trading_costs:
        return
    try:
        CostSchedule.from_mapping(orjson.loads(settings.trading_costs))
    except (ValueError, TypeError, orjson.JSONDecodeError) as exc:
        raise ConfigurationError(f"KSTOCK_TRADING_COSTS is not a valid cost schedule: {exc}") from exc
