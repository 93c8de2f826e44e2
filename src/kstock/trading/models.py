"""Paper-trading tables.

Every write to an account (an order placed, a fill, a cancel, a state change) starts by bumping
``trading_accounts.revision`` with an UPDATE that also checks the owner: the row lock (PostgreSQL) or the database
write lock (SQLite) serialises writers of one account, so a fill and a cancel of the same order, or two retries of
one execute, run one after the other and the second sees what the first wrote.

A fill, its cash movement, its position change and its trade record are written in one transaction.
Stock codes are not foreign keys: an account's history outlives reloads of the market data.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    Uuid,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from kstock.db.base import Base

_AUTO_ID = BigInteger().with_variant(Integer, "sqlite")

# An order's status: open until it is filled, cancelled (by its owner, a stop, or what the book could not fill at
# once) or expired (a day order at the close).
OPEN = "open"
FILLED = "filled"
CANCELLED = "cancelled"
EXPIRED = "expired"


class TradingAccount(Base):
    __tablename__ = "trading_accounts"
    __table_args__ = (
        UniqueConstraint("user_id", "name", name="uq_trading_accounts_user_name"),
        CheckConstraint("cash >= 0", name="cash"),  # projected (D+2) cash: the last line of defence
        Index("ix_trading_accounts_user", "user_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    user_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    starting_cash: Mapped[int] = mapped_column(BigInteger)
    cash: Mapped[int] = mapped_column(BigInteger)  # D+2: starting cash plus every trade's net cash change
    reserved_cash: Mapped[int] = mapped_column(BigInteger, default=0)  # held back by open buy orders
    realized_pnl: Mapped[int] = mapped_column(BigInteger, default=0)
    commissions: Mapped[int] = mapped_column(BigInteger, default=0)
    taxes: Mapped[int] = mapped_column(BigInteger, default=0)
    state: Mapped[str] = mapped_column(String(10), default="active")
    state_reason: Mapped[str | None] = mapped_column(String(500))
    risk_limits: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # overrides of the defaults
    override: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # {level, reason, expires_at, by}
    peak_equity: Mapped[int] = mapped_column(BigInteger)
    start_of_day_equity: Mapped[int] = mapped_column(BigInteger)
    equity_date: Mapped[dt.date | None] = mapped_column(Date)  # the trading day start_of_day_equity belongs to
    revision: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class TradingPosition(Base):
    __tablename__ = "trading_positions"

    account_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("trading_accounts.id", ondelete="CASCADE"), primary_key=True
    )
    stock_code: Mapped[str] = mapped_column(String(6), primary_key=True)
    quantity: Mapped[int] = mapped_column(BigInteger)  # 0 once closed (its realized P&L is kept)
    cost_basis: Mapped[int] = mapped_column(BigInteger)  # moving average: KRW paid for the shares still held
    realized_pnl: Mapped[int] = mapped_column(BigInteger, default=0)  # after commission and tax
    fees: Mapped[int] = mapped_column(BigInteger, default=0)  # the buy commission of the shares still held
    last_price: Mapped[int | None] = mapped_column(BigInteger)  # the last fill's price: valuation without a feed
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class TradingOrder(Base):
    __tablename__ = "trading_orders"
    __table_args__ = (
        CheckConstraint("side IN ('buy', 'sell')", name="side"),
        CheckConstraint("quantity > 0", name="quantity"),
        CheckConstraint("filled_quantity >= 0 AND filled_quantity <= quantity", name="filled"),
        CheckConstraint("reserved_cash >= 0", name="reserved"),
        UniqueConstraint("account_id", "idempotency_key", name="uq_trading_orders_idempotency"),
        UniqueConstraint("preview_id", name="uq_trading_orders_preview"),
        Index("ix_trading_orders_account_created", "account_id", "created_at"),
        Index("ix_trading_orders_status", "status"),
        Index("ix_trading_orders_account_status", "account_id", "status"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    account_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("trading_accounts.id", ondelete="CASCADE"))
    stock_code: Mapped[str] = mapped_column(String(6))
    market: Mapped[str] = mapped_column(String(6))
    side: Mapped[str] = mapped_column(String(4))
    order_type: Mapped[str] = mapped_column(String(6))
    time_in_force: Mapped[str] = mapped_column(String(3))
    quantity: Mapped[int] = mapped_column(BigInteger)
    limit_price: Mapped[int | None] = mapped_column(BigInteger)
    filled_quantity: Mapped[int] = mapped_column(BigInteger, default=0)
    filled_amount: Mapped[int] = mapped_column(BigInteger, default=0)  # KRW, sum of price x quantity
    commission: Mapped[int] = mapped_column(BigInteger, default=0)
    tax: Mapped[int] = mapped_column(BigInteger, default=0)
    reserved_cash: Mapped[int] = mapped_column(BigInteger, default=0)  # buys: what the unfilled rest holds back
    status: Mapped[str] = mapped_column(String(9))  # open | filled | cancelled | expired
    status_reason: Mapped[str | None] = mapped_column(String(500))
    source: Mapped[str] = mapped_column(String(10), default="api")  # api | strategy | stop
    strategy_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    preview_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)  # the signed preview's id: executed once
    idempotency_key: Mapped[str | None] = mapped_column(String(200))
    trade_date: Mapped[dt.date] = mapped_column(Date)  # the market day it was placed on (day orders expire with it)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class TradingFill(Base):
    """One execution: the trade record of the control API's ``trades``."""

    __tablename__ = "trading_fills"
    __table_args__ = (Index("ix_trading_fills_account_time", "account_id", "executed_at"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    order_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("trading_orders.id", ondelete="CASCADE"))
    account_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("trading_accounts.id", ondelete="CASCADE"))
    stock_code: Mapped[str] = mapped_column(String(6))
    side: Mapped[str] = mapped_column(String(4))
    price: Mapped[int] = mapped_column(BigInteger)
    quantity: Mapped[int] = mapped_column(BigInteger)
    amount: Mapped[int] = mapped_column(BigInteger)
    commission: Mapped[int] = mapped_column(BigInteger)
    tax: Mapped[int] = mapped_column(BigInteger)
    net_cash: Mapped[int] = mapped_column(BigInteger)  # signed: -(amount + commission) or amount - commission - tax
    realized_pnl: Mapped[int | None] = mapped_column(BigInteger)  # sells
    cost_basis_out: Mapped[int | None] = mapped_column(BigInteger)  # sells: the moving-average cost sold
    phase: Mapped[str] = mapped_column(String(16))
    trade_date: Mapped[dt.date] = mapped_column(Date)
    settles_on: Mapped[dt.date] = mapped_column(Date)
    executed_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))  # the market's time
    recorded_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))  # the wall clock: orders ties


class TradingEvent(Base):
    """What happened to an account besides its orders: state changes, overrides, start/stop, config, strategies."""

    __tablename__ = "trading_events"
    __table_args__ = (Index("ix_trading_events_account", "account_id", "id"),)

    id: Mapped[int] = mapped_column(_AUTO_ID, primary_key=True, autoincrement=True)
    account_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("trading_accounts.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class TradingEquity(Base):
    """The account's equity (cash plus positions at market) at a moment: the performance's equity curve."""

    __tablename__ = "trading_equity"

    account_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("trading_accounts.id", ondelete="CASCADE"), primary_key=True
    )
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    equity: Mapped[int] = mapped_column(BigInteger)


class TradingStrategy(Base):
    __tablename__ = "trading_strategies"
    __table_args__ = (Index("ix_trading_strategies_account", "account_id"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    account_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("trading_accounts.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(32))
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    codes: Mapped[list[str]] = mapped_column(JSON)
    quantity: Mapped[int] = mapped_column(BigInteger)  # shares per buy signal
    auto_execute: Mapped[bool] = mapped_column(Boolean, default=False)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class TradingSignal(Base):
    __tablename__ = "trading_signals"
    __table_args__ = (Index("ix_trading_signals_account", "account_id", "at"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    account_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("trading_accounts.id", ondelete="CASCADE"))
    strategy_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("trading_strategies.id", ondelete="CASCADE"))
    stock_code: Mapped[str] = mapped_column(String(6))
    side: Mapped[str] = mapped_column(String(4))
    price: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(String(500))
    outcome: Mapped[str] = mapped_column(String(10))  # executed | rejected | proposed
    detail: Mapped[dict[str, Any]] = mapped_column(JSON)
    order_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
