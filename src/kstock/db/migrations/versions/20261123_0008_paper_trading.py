"""Paper trading: accounts, orders, fills, positions, events, equity points, strategies and signals.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23 11:15:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "trading_accounts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("starting_cash", sa.BigInteger(), nullable=False),
        sa.Column("cash", sa.BigInteger(), nullable=False),
        sa.Column("reserved_cash", sa.BigInteger(), nullable=False),
        sa.Column("realized_pnl", sa.BigInteger(), nullable=False),
        sa.Column("commissions", sa.BigInteger(), nullable=False),
        sa.Column("taxes", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("state_reason", sa.String(length=500), nullable=True),
        sa.Column("risk_limits", sa.JSON(), nullable=False),
        sa.Column("override", sa.JSON(), nullable=True),
        sa.Column("peak_equity", sa.BigInteger(), nullable=False),
        sa.Column("start_of_day_equity", sa.BigInteger(), nullable=False),
        sa.Column("equity_date", sa.Date(), nullable=True),
        sa.Column("revision", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.CheckConstraint("cash >= 0", name=op.f("ck_trading_accounts_cash")),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_trading_accounts_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trading_accounts")),
        sa.UniqueConstraint("user_id", "name", name="uq_trading_accounts_user_name"),
    )
    op.create_index("ix_trading_accounts_user", "trading_accounts", ["user_id"], unique=False)
    op.create_table(
        "trading_equity",
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("equity", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["trading_accounts.id"],
            name=op.f("fk_trading_equity_account_id_trading_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("account_id", "at", name=op.f("pk_trading_equity")),
    )
    op.create_table(
        "trading_events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["trading_accounts.id"],
            name=op.f("fk_trading_events_account_id_trading_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trading_events")),
    )
    op.create_index("ix_trading_events_account", "trading_events", ["account_id", "id"], unique=False)
    op.create_table(
        "trading_orders",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("stock_code", sa.String(length=6), nullable=False),
        sa.Column("market", sa.String(length=6), nullable=False),
        sa.Column("side", sa.String(length=4), nullable=False),
        sa.Column("order_type", sa.String(length=6), nullable=False),
        sa.Column("time_in_force", sa.String(length=3), nullable=False),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.Column("limit_price", sa.BigInteger(), nullable=True),
        sa.Column("filled_quantity", sa.BigInteger(), nullable=False),
        sa.Column("filled_amount", sa.BigInteger(), nullable=False),
        sa.Column("commission", sa.BigInteger(), nullable=False),
        sa.Column("tax", sa.BigInteger(), nullable=False),
        sa.Column("reserved_cash", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=9), nullable=False),
        sa.Column("status_reason", sa.String(length=500), nullable=True),
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.Column("strategy_id", sa.Uuid(), nullable=True),
        sa.Column("preview_id", sa.Uuid(), nullable=True),
        sa.Column("idempotency_key", sa.String(length=200), nullable=True),
        sa.Column("trade_date", sa.Date(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("side IN ('buy', 'sell')", name=op.f("ck_trading_orders_side")),
        sa.CheckConstraint(
            "filled_quantity >= 0 AND filled_quantity <= quantity", name=op.f("ck_trading_orders_filled")
        ),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_trading_orders_quantity")),
        sa.CheckConstraint("reserved_cash >= 0", name=op.f("ck_trading_orders_reserved")),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["trading_accounts.id"],
            name=op.f("fk_trading_orders_account_id_trading_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trading_orders")),
        sa.UniqueConstraint("account_id", "idempotency_key", name="uq_trading_orders_idempotency"),
        sa.UniqueConstraint("preview_id", name="uq_trading_orders_preview"),
    )
    op.create_index("ix_trading_orders_account_created", "trading_orders", ["account_id", "created_at"], unique=False)
    op.create_index("ix_trading_orders_status", "trading_orders", ["status"], unique=False)
    op.create_index("ix_trading_orders_account_status", "trading_orders", ["account_id", "status"], unique=False)
    op.create_table(
        "trading_positions",
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("stock_code", sa.String(length=6), nullable=False),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.Column("cost_basis", sa.BigInteger(), nullable=False),
        sa.Column("realized_pnl", sa.BigInteger(), nullable=False),
        sa.Column("fees", sa.BigInteger(), nullable=False),
        sa.Column("last_price", sa.BigInteger(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["trading_accounts.id"],
            name=op.f("fk_trading_positions_account_id_trading_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("account_id", "stock_code", name=op.f("pk_trading_positions")),
    )
    op.create_table(
        "trading_strategies",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("codes", sa.JSON(), nullable=False),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.Column("auto_execute", sa.Boolean(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("error", sa.String(length=500), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["trading_accounts.id"],
            name=op.f("fk_trading_strategies_account_id_trading_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trading_strategies")),
    )
    op.create_index("ix_trading_strategies_account", "trading_strategies", ["account_id"], unique=False)
    op.create_table(
        "trading_fills",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("order_id", sa.Uuid(), nullable=False),
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("stock_code", sa.String(length=6), nullable=False),
        sa.Column("side", sa.String(length=4), nullable=False),
        sa.Column("price", sa.BigInteger(), nullable=False),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("commission", sa.BigInteger(), nullable=False),
        sa.Column("tax", sa.BigInteger(), nullable=False),
        sa.Column("net_cash", sa.BigInteger(), nullable=False),
        sa.Column("realized_pnl", sa.BigInteger(), nullable=True),
        sa.Column("cost_basis_out", sa.BigInteger(), nullable=True),
        sa.Column("phase", sa.String(length=16), nullable=False),
        sa.Column("trade_date", sa.Date(), nullable=False),
        sa.Column("settles_on", sa.Date(), nullable=False),
        sa.Column("executed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["trading_accounts.id"],
            name=op.f("fk_trading_fills_account_id_trading_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["trading_orders.id"],
            name=op.f("fk_trading_fills_order_id_trading_orders"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trading_fills")),
    )
    op.create_index("ix_trading_fills_account_time", "trading_fills", ["account_id", "executed_at"], unique=False)
    op.create_table(
        "trading_signals",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("strategy_id", sa.Uuid(), nullable=False),
        sa.Column("stock_code", sa.String(length=6), nullable=False),
        sa.Column("side", sa.String(length=4), nullable=False),
        sa.Column("price", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("outcome", sa.String(length=10), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("order_id", sa.Uuid(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["trading_accounts.id"],
            name=op.f("fk_trading_signals_account_id_trading_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["strategy_id"],
            ["trading_strategies.id"],
            name=op.f("fk_trading_signals_strategy_id_trading_strategies"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trading_signals")),
    )
    op.create_index("ix_trading_signals_account", "trading_signals", ["account_id", "at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_trading_signals_account", table_name="trading_signals")
    op.drop_table("trading_signals")
    op.drop_index("ix_trading_fills_account_time", table_name="trading_fills")
    op.drop_table("trading_fills")
    op.drop_index("ix_trading_strategies_account", table_name="trading_strategies")
    op.drop_table("trading_strategies")
    op.drop_table("trading_positions")
    op.drop_index("ix_trading_orders_account_status", table_name="trading_orders")
    op.drop_index("ix_trading_orders_status", table_name="trading_orders")
    op.drop_index("ix_trading_orders_account_created", table_name="trading_orders")
    op.drop_table("trading_orders")
    op.drop_index("ix_trading_events_account", table_name="trading_events")
    op.drop_table("trading_events")
    op.drop_table("trading_equity")
    op.drop_index("ix_trading_accounts_user", table_name="trading_accounts")
    op.drop_table("trading_accounts")
