"""Instruments, daily bars, financial statements and derived indicators; the in-memory snapshot with its columnar
table, field catalog and condition language (the screener builds on them); the market-data API."""
