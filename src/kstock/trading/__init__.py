"""Paper trading: accounts that place two-step orders (preview, then execute) against the simulated KRX market.

The domain core is pure (no database, no HTTP, no event loop):

- :mod:`kstock.trading.costs`: the broker's commission and the securities transaction tax, dated.
- :mod:`kstock.trading.orders`: orders and their validation (tick grid, daily price band, quantity).
- :mod:`kstock.trading.pricing`: an order's price against the 10-level order book, and fills of resting orders.
- :mod:`kstock.trading.risk`: per-order risk checks and the limits they enforce.
- :mod:`kstock.trading.risk_state`: account states (ACTIVE, REDUCING, HALTED, STOPPED) and drawdown zones.
- :mod:`kstock.trading.settlement`: T+2 settlement, cash by settlement day and buying power.
- :mod:`kstock.trading.performance`: trade statistics, total return, drawdown and Sharpe of an equity curve.
- :mod:`kstock.trading.strategies`: the built-in strategies (moving-average crossover, RSI mean reversion) and
  the signals they emit from bars.

Money is KRW in integers throughout.
"""
