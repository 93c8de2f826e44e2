"""Live market feed: a simulated KRX market and what publishes it."""
