"""Small shared pieces: KRX money and tick helpers, the trading calendar, pagination, field selection."""
