"""Saved screens: each user's named screen definitions.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 06:10:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "saved_screens",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("definition", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_saved_screens_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_saved_screens")),
        sa.UniqueConstraint("user_id", "name", name="uq_saved_screens_user_name"),
    )
    op.create_index("ix_saved_screens_user", "saved_screens", ["user_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_saved_screens_user", table_name="saved_screens")
    op.drop_table("saved_screens")
