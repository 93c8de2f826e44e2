"""Portfolios: the transaction ledger and the holdings derived from it.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 06:45:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "portfolios",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("description", sa.String(length=500), nullable=True),
        sa.Column("revision", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_portfolios_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_portfolios")),
        sa.UniqueConstraint("user_id", "name", name="uq_portfolios_user_name"),
    )
    op.create_index("ix_portfolios_user", "portfolios", ["user_id"], unique=False)
    op.create_table(
        "portfolio_transactions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("portfolio_id", sa.Uuid(), nullable=False),
        sa.Column("sequence", sa.BigInteger(), nullable=False),
        sa.Column("side", sa.String(length=4), nullable=False),
        sa.Column("stock_code", sa.String(length=6), nullable=False),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.Column("price", sa.BigInteger(), nullable=False),
        sa.Column("fees", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("trade_date", sa.Date(), nullable=False),
        sa.Column("realized_gain", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.CheckConstraint("side IN ('buy', 'sell')", name=op.f("ck_portfolio_transactions_side")),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_portfolio_transactions_quantity")),
        sa.CheckConstraint("price > 0", name=op.f("ck_portfolio_transactions_price")),
        sa.CheckConstraint("fees >= 0", name=op.f("ck_portfolio_transactions_fees")),
        sa.ForeignKeyConstraint(
            ["portfolio_id"],
            ["portfolios.id"],
            name=op.f("fk_portfolio_transactions_portfolio_id_portfolios"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_portfolio_transactions")),
    )
    op.create_index(
        "ix_portfolio_transactions_portfolio_stock", "portfolio_transactions", ["portfolio_id", "stock_code"]
    )
    op.create_index(
        "ix_portfolio_transactions_portfolio_date", "portfolio_transactions", ["portfolio_id", "trade_date"]
    )
    op.create_table(
        "portfolio_holdings",
        sa.Column("portfolio_id", sa.Uuid(), nullable=False),
        sa.Column("stock_code", sa.String(length=6), nullable=False),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.Column("cost_basis", sa.BigInteger(), nullable=False),
        sa.Column("realized_gain", sa.BigInteger(), nullable=False),
        sa.Column("fees", sa.BigInteger(), nullable=False),
        sa.Column("first_trade_date", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(
            ["portfolio_id"],
            ["portfolios.id"],
            name=op.f("fk_portfolio_holdings_portfolio_id_portfolios"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("portfolio_id", "stock_code", name=op.f("pk_portfolio_holdings")),
    )


def downgrade() -> None:
    op.drop_table("portfolio_holdings")
    op.drop_index("ix_portfolio_transactions_portfolio_date", table_name="portfolio_transactions")
    op.drop_index("ix_portfolio_transactions_portfolio_stock", table_name="portfolio_transactions")
    op.drop_table("portfolio_transactions")
    op.drop_index("ix_portfolios_user", table_name="portfolios")
    op.drop_table("portfolios")
