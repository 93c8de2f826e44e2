"""Imports every domain's models so that the metadata (and Alembic) sees all tables."""

from kstock.market.models import DailyBar, DataVersion, FinancialStatement, Instrument, StockIndicator

__all__ = ["DailyBar", "DataVersion", "FinancialStatement", "Instrument", "StockIndicator"]
