"""Insights tables: hourly counts, masked samples, alerts and their deliveries (bot/insights).

A table that already exists (made with ``create_all`` by a test fixture or an unreleased
build) is left as it is.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01
"""

from __future__ import annotations

from typing import Any, List, Sequence, Tuple

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _create(name: str, items: Sequence[Any], indexes: Sequence[Tuple[str, List[str]]] = ()) -> None:
    if name in set(sa.inspect(op.get_bind()).get_table_names()):
        return
    op.create_table(name, *items)
    for index, columns in indexes:
        op.create_index(index, name, columns, unique=False)


def upgrade() -> None:
    _create("insight_alerts", [
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("last_hour", sa.DateTime(), nullable=False),
        sa.Column("observed", sa.Integer(), nullable=False),
        sa.Column("expected", sa.Float(), nullable=False),
        sa.Column("p_value", sa.Float(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    ], [("ix_insight_alerts_kind", ["kind"])])
    _create("insight_counts", [
        sa.Column("hour", sa.DateTime(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("hour", "kind", "key"),
    ])
    _create("insight_samples", [
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("hour", sa.DateTime(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    ], [("ix_insight_samples_hour", ["hour"])])
    _create("insight_alert_deliveries", [
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=False),
        sa.Column("target", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["alert_id"], ["insight_alerts.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    ], [("ix_insight_alert_deliveries_alert_id", ["alert_id"])])


def downgrade() -> None:
    for name in ("insight_alert_deliveries", "insight_samples", "insight_counts",
                 "insight_alerts"):
        op.drop_table(name)
