"""Imports every domain's models so that the metadata (and Alembic) sees all tables."""

from kstock.market.models import DailyBar, FinancialStatement, Instrument, StockIndicator

__all__ = ["DailyBar", "FinancialStatement", "Instrument", "StockIndicator"]
