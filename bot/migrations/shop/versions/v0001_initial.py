"""Initial shop schema (customers, orders, shipments); tables made by older code are kept.

Revision ID: 0001
Revises:
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Column, DateTime, ForeignKey, Integer, String

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _schema() -> sa.MetaData:
    meta = sa.MetaData()
    sa.Table(
        "customers", meta,
        Column("id", Integer, primary_key=True),
        Column("name", String(120), nullable=False),
        Column("email", String(200), nullable=False),
    )
    sa.Table(
        "orders", meta,
        Column("id", Integer, primary_key=True),
        Column("number", String(16), unique=True, nullable=False, index=True),
        Column("customer_id", Integer, ForeignKey("customers.id"), nullable=False),
        Column("postal_code", String(10), nullable=False),
        Column("city", String(80), nullable=False),
        Column("status", String(16), nullable=False),
        Column("placed_at", DateTime, nullable=False),
    )
    sa.Table(
        "shipments", meta,
        Column("id", Integer, primary_key=True),
        Column("order_id", Integer, ForeignKey("orders.id"), nullable=False, unique=True),
        Column("carrier", String(20), nullable=False),
        Column("tracking_number", String(40), nullable=False),
        Column("shipped_at", DateTime, nullable=False),
        Column("delivered_at", DateTime, nullable=True),
    )
    return meta


def upgrade() -> None:
    bind = op.get_bind()
    for table in _schema().sorted_tables:
        table.create(bind, checkfirst=True)


def downgrade() -> None:
    bind = op.get_bind()
    for table in reversed(_schema().sorted_tables):
        table.drop(bind, checkfirst=True)
