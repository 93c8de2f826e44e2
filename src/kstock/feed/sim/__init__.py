"""A deterministic simulated KRX market for the live feed and paper trading: a :class:`kstock.sources.QuoteSource`.

Trading days follow the KRX regular session (pre-open call auction, opening auction, continuous trading, closing
call auction and closing auction) on the real trading calendar. Prices stay on the tick grid and inside the daily
price limits, books show ten levels a side, activity is heavy-tailed across stocks, and stocks can be halted. What
it produces are the records of :mod:`kstock.sources`.
"""

from kstock.feed.sim.clock import DEMO_DAY_START, SimClock
from kstock.feed.sim.instrument import Instrument
from kstock.feed.sim.simulator import Simulator, simulate

__all__ = ["DEMO_DAY_START", "Instrument", "SimClock", "Simulator", "simulate"]
