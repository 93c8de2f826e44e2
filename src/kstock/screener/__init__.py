"""Screening: the engine (over the market's columnar table, field catalog and condition language) and saved screens."""
