"""Instruments, daily bars, financial statements and derived indicators; the market-data API."""
