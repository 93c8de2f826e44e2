"""Real-time market data and account events: the broker between the feed and the API instances, the per-instance
hub that fans broker messages out to WebSocket clients, and the ``/ws/stocks`` endpoint."""
