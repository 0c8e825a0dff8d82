"""Events the RabbitMQ consumer of the inbox applied, keyed by identity (``inbox_consumed_events``):
a redelivered event is acknowledged without new work, however many inbox processes consume.

A table that already exists (made with ``create_all`` by a test fixture) is left as it is.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if "inbox_consumed_events" in set(sa.inspect(op.get_bind()).get_table_names()):
        return
    op.create_table(
        "inbox_consumed_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("event_key", sa.String(length=64), nullable=False),
        sa.Column("consumer", sa.String(length=128), nullable=False),
        sa.Column("consumed_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("event_key"),
    )


def downgrade() -> None:
    op.drop_table("inbox_consumed_events")
