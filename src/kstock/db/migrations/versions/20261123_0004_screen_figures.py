"""Screening figures in stock_indicators: turnover, average volume, TTM revenue, PSR, ROA, margins, debt ratio,
growth, moving averages, RSI, returns and distances from the 52-week range and the moving averages.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 09:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BIGINT_COLUMNS = ("turnover", "avg_volume_20d", "revenue_ttm", "close_1m_ago", "close_3m_ago", "close_1y_ago")
_FLOAT_COLUMNS = (
    "psr",
    "roa",
    "operating_margin",
    "net_margin",
    "debt_ratio",
    "revenue_growth_yoy",
    "eps_growth_yoy",
    "revenue_growth_3y",
    "eps_growth_3y",
    "sma_20",
    "sma_60",
    "sma_120",
    "rsi_14",
    "return_1m",
    "return_3m",
    "return_1y",
    "pct_from_52w_high",
    "pct_from_52w_low",
    "price_vs_sma_20",
    "price_vs_sma_60",
    "price_vs_sma_120",
)


def upgrade() -> None:
    # Adding nullable columns is a plain ALTER TABLE on both backends (batch mode does not copy the table).
    with op.batch_alter_table("stock_indicators", schema=None) as batch_op:
        for name in _BIGINT_COLUMNS:
            batch_op.add_column(sa.Column(name, sa.BigInteger(), nullable=True))
        for name in _FLOAT_COLUMNS:
            batch_op.add_column(sa.Column(name, sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("stock_indicators", schema=None) as batch_op:
        for name in reversed(_FLOAT_COLUMNS):
            batch_op.drop_column(name)
        for name in reversed(_BIGINT_COLUMNS):
            batch_op.drop_column(name)
