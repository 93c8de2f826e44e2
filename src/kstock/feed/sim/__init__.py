"""A deterministic simulated KRX market for the live feed and paper trading.

Trading days follow the KRX regular session (pre-open call auction, opening auction, continuous trading, closing
call auction and closing auction) on the real trading calendar. Prices stay on the tick grid and inside the daily
price limits, books show ten levels a side, activity is heavy-tailed across stocks, and stocks can be halted.
"""

from kstock.feed.sim.bars import BarBuilder
from kstock.feed.sim.clock import DEMO_DAY_START, SimClock
from kstock.feed.sim.records import DailyBar, Instrument, MinuteBar, OrderBook, Step, Trade
from kstock.feed.sim.session import Phase, session_phase
from kstock.feed.sim.simulator import Simulator, simulate

__all__ = [
    "DEMO_DAY_START",
    "BarBuilder",
    "DailyBar",
    "Instrument",
    "MinuteBar",
    "OrderBook",
    "Phase",
    "SimClock",
    "Simulator",
    "Step",
    "Trade",
    "session_phase",
    "simulate",
]
