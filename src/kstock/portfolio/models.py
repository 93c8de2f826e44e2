"""Portfolio tables. The ledger (``portfolio_transactions``) is the truth; ``portfolio_holdings`` is derived from
it (moving-average cost, realized gain) in the same transaction as every write, so reads never replay it.

Stock codes are not foreign keys: a ledger outlives reloads of the market data (``kstock data demo --replace``).
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    String,
    UniqueConstraint,
    Uuid,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from kstock.db.base import Base


class Portfolio(Base):
    __tablename__ = "portfolios"
    __table_args__ = (
        UniqueConstraint("user_id", "name", name="uq_portfolios_user_name"),
        Index("ix_portfolios_user", "user_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    user_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str | None] = mapped_column(String(500))
    # Bumped by every write to the portfolio: the row every writer updates first, which serialises them.
    revision: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class PortfolioTransaction(Base):
    __tablename__ = "portfolio_transactions"
    __table_args__ = (
        CheckConstraint("side IN ('buy', 'sell')", name="side"),
        CheckConstraint("quantity > 0", name="quantity"),
        CheckConstraint("price > 0", name="price"),
        CheckConstraint("fees >= 0", name="fees"),
        Index("ix_portfolio_transactions_portfolio_stock", "portfolio_id", "stock_code"),
        Index("ix_portfolio_transactions_portfolio_date", "portfolio_id", "trade_date"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    portfolio_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("portfolios.id", ondelete="CASCADE"))
    sequence: Mapped[int] = mapped_column(BigInteger)  # order of entry within the portfolio
    side: Mapped[str] = mapped_column(String(4))
    stock_code: Mapped[str] = mapped_column(String(6))
    quantity: Mapped[int] = mapped_column(BigInteger)
    price: Mapped[int] = mapped_column(BigInteger)
    fees: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    trade_date: Mapped[dt.date] = mapped_column(Date)
    realized_gain: Mapped[int | None] = mapped_column(BigInteger)  # sells: proceeds - fees - cost of shares sold
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class PortfolioHolding(Base):
    __tablename__ = "portfolio_holdings"

    portfolio_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("portfolios.id", ondelete="CASCADE"), primary_key=True
    )
    stock_code: Mapped[str] = mapped_column(String(6), primary_key=True)
    quantity: Mapped[int] = mapped_column(BigInteger)  # 0 for a closed position (its realized gain is kept)
    cost_basis: Mapped[int] = mapped_column(BigInteger)  # KRW paid for the shares still held (moving average)
    realized_gain: Mapped[int] = mapped_column(BigInteger)
    fees: Mapped[int] = mapped_column(BigInteger)
    first_trade_date: Mapped[dt.date] = mapped_column(Date)
