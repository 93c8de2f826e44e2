"""kstock: market data, screening, portfolios and paper trading for Korean equities."""

__version__ = "0.1.0"
