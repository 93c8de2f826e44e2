"""Market data: instruments, daily bars, financial statements, derived indicators.

Revision ID: 0001
Revises:
Create Date: 2026-11-23 03:07:07.053605
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "instruments",
        sa.Column("code", sa.String(length=6), nullable=False),
        sa.Column("isin", sa.String(length=12), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("name_en", sa.String(length=200), nullable=True),
        sa.Column("market", sa.String(length=10), nullable=False),
        sa.Column("segment", sa.String(length=50), nullable=True),
        sa.Column("sector", sa.String(length=100), nullable=True),
        sa.Column("industry", sa.String(length=200), nullable=True),
        sa.Column("listing_date", sa.Date(), nullable=True),
        sa.Column("delisting_date", sa.Date(), nullable=True),
        sa.Column("shares_outstanding", sa.BigInteger(), nullable=True),
        sa.Column("settle_month", sa.SmallInteger(), nullable=True),
        sa.Column("status", sa.String(length=10), server_default="active", nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.CheckConstraint("market IN ('KOSPI', 'KOSDAQ', 'KONEX')", name=op.f("ck_instruments_market")),
        sa.CheckConstraint("status IN ('active', 'halted', 'delisted')", name=op.f("ck_instruments_status")),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_instruments")),
        sa.UniqueConstraint("isin", name=op.f("uq_instruments_isin")),
    )
    with op.batch_alter_table("instruments", schema=None) as batch_op:
        batch_op.create_index("ix_instruments_market_sector", ["market", "sector"], unique=False)
        batch_op.create_index("ix_instruments_sector", ["sector"], unique=False)

    op.create_table(
        "daily_bars",
        sa.Column("code", sa.String(length=6), nullable=False),
        sa.Column("trade_date", sa.Date(), nullable=False),
        sa.Column("open", sa.BigInteger(), nullable=False),
        sa.Column("high", sa.BigInteger(), nullable=False),
        sa.Column("low", sa.BigInteger(), nullable=False),
        sa.Column("close", sa.BigInteger(), nullable=False),
        sa.Column("volume", sa.BigInteger(), nullable=False),
        sa.Column("trade_value", sa.BigInteger(), nullable=True),
        sa.CheckConstraint(
            "low <= open AND low <= close AND open <= high AND close <= high", name=op.f("ck_daily_bars_ohlc")
        ),
        sa.CheckConstraint("volume >= 0", name=op.f("ck_daily_bars_volume")),
        sa.ForeignKeyConstraint(
            ["code"], ["instruments.code"], name=op.f("fk_daily_bars_code_instruments"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("code", "trade_date", name=op.f("pk_daily_bars")),
        sqlite_with_rowid=False,
    )
    with op.batch_alter_table("daily_bars", schema=None) as batch_op:
        batch_op.create_index("ix_daily_bars_trade_date", ["trade_date"], unique=False)

    op.create_table(
        "financial_statements",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("code", sa.String(length=6), nullable=False),
        sa.Column("period_type", sa.String(length=10), nullable=False),
        sa.Column("fiscal_year", sa.SmallInteger(), nullable=False),
        sa.Column("fiscal_quarter", sa.SmallInteger(), nullable=False),
        sa.Column("report_date", sa.Date(), nullable=False),
        sa.Column("revenue", sa.BigInteger(), nullable=True),
        sa.Column("operating_profit", sa.BigInteger(), nullable=True),
        sa.Column("net_profit", sa.BigInteger(), nullable=True),
        sa.Column("total_assets", sa.BigInteger(), nullable=True),
        sa.Column("total_liabilities", sa.BigInteger(), nullable=True),
        sa.Column("total_equity", sa.BigInteger(), nullable=True),
        sa.Column("eps", sa.BigInteger(), nullable=True),
        sa.Column("bps", sa.BigInteger(), nullable=True),
        sa.Column("dps", sa.BigInteger(), nullable=True),
        sa.CheckConstraint("period_type IN ('quarterly', 'annual')", name=op.f("ck_financial_statements_period_type")),
        sa.CheckConstraint("fiscal_quarter BETWEEN 0 AND 4", name=op.f("ck_financial_statements_fiscal_quarter")),
        sa.ForeignKeyConstraint(
            ["code"],
            ["instruments.code"],
            name=op.f("fk_financial_statements_code_instruments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_financial_statements")),
        sa.UniqueConstraint("code", "period_type", "fiscal_year", "fiscal_quarter", name="uq_financial_period"),
    )
    op.create_table(
        "stock_indicators",
        sa.Column("code", sa.String(length=6), nullable=False),
        sa.Column("trade_date", sa.Date(), nullable=False),
        sa.Column("close_price", sa.BigInteger(), nullable=False),
        sa.Column("prev_close", sa.BigInteger(), nullable=True),
        sa.Column("change_pct", sa.Float(), nullable=True),
        sa.Column("volume", sa.BigInteger(), nullable=False),
        sa.Column("market_cap", sa.BigInteger(), nullable=True),
        sa.Column("high_52w", sa.BigInteger(), nullable=True),
        sa.Column("low_52w", sa.BigInteger(), nullable=True),
        sa.Column("eps_ttm", sa.BigInteger(), nullable=True),
        sa.Column("bps", sa.BigInteger(), nullable=True),
        sa.Column("dps", sa.BigInteger(), nullable=True),
        sa.Column("per", sa.Float(), nullable=True),
        sa.Column("pbr", sa.Float(), nullable=True),
        sa.Column("roe", sa.Float(), nullable=True),
        sa.Column("dividend_yield", sa.Float(), nullable=True),
        sa.Column("quality_score", sa.Float(), nullable=True),
        sa.Column("value_score", sa.Float(), nullable=True),
        sa.Column("growth_score", sa.Float(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.ForeignKeyConstraint(
            ["code"],
            ["instruments.code"],
            name=op.f("fk_stock_indicators_code_instruments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_stock_indicators")),
    )


def downgrade() -> None:

    op.drop_table("stock_indicators")
    op.drop_table("financial_statements")
    with op.batch_alter_table("daily_bars", schema=None) as batch_op:
        batch_op.drop_index("ix_daily_bars_trade_date")

    op.drop_table("daily_bars")
    with op.batch_alter_table("instruments", schema=None) as batch_op:
        batch_op.drop_index("ix_instruments_sector")
        batch_op.drop_index("ix_instruments_market_sector")

    op.drop_table("instruments")
