"""Imports every domain's models so that the metadata (and Alembic) sees all tables."""

from kstock.gateway.models import AuditEvent
from kstock.identity.models import ApiKey, RefreshToken, User
from kstock.market.models import DailyBar, DataVersion, FinancialStatement, Instrument, StockIndicator
from kstock.portfolio.models import Portfolio, PortfolioHolding, PortfolioTransaction
from kstock.screener.models import SavedScreen
from kstock.trading.models import (
    TradingAccount,
    TradingEquity,
    TradingEvent,
    TradingFill,
    TradingOrder,
    TradingPosition,
    TradingSignal,
    TradingStrategy,
)

__all__ = [
    "ApiKey",
    "AuditEvent",
    "DailyBar",
    "DataVersion",
    "FinancialStatement",
    "Instrument",
    "Portfolio",
    "PortfolioHolding",
    "PortfolioTransaction",
    "RefreshToken",
    "SavedScreen",
    "StockIndicator",
    "TradingAccount",
    "TradingEquity",
    "TradingEvent",
    "TradingFill",
    "TradingOrder",
    "TradingPosition",
    "TradingSignal",
    "TradingStrategy",
    "User",
]
