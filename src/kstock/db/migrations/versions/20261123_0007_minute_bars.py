"""Minute bars: the feed's one-minute OHLCV of each stock, kept for the last few sessions.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23 08:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "minute_bars",
        sa.Column("code", sa.String(length=6), nullable=False),
        sa.Column("start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("open", sa.BigInteger(), nullable=False),
        sa.Column("high", sa.BigInteger(), nullable=False),
        sa.Column("low", sa.BigInteger(), nullable=False),
        sa.Column("close", sa.BigInteger(), nullable=False),
        sa.Column("volume", sa.BigInteger(), nullable=False),
        sa.Column("turnover", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(
            "low <= open AND low <= close AND open <= high AND close <= high", name=op.f("ck_minute_bars_ohlc")
        ),
        sa.ForeignKeyConstraint(
            ["code"], ["instruments.code"], name=op.f("fk_minute_bars_code_instruments"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("code", "start", name=op.f("pk_minute_bars")),
        sqlite_with_rowid=False,
    )
    op.create_index("ix_minute_bars_start", "minute_bars", ["start"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_minute_bars_start", table_name="minute_bars")
    op.drop_table("minute_bars")
