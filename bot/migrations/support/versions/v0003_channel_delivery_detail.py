"""Channel deliveries keep the provider's own words beside the typed reason
(``channel_deliveries.provider_detail``); watermarks hold Telegram update ids past 2^31
(``channel_watermarks.high_water`` becomes BIGINT).

A column that already exists (a database made with ``create_all`` by a test fixture or the
in-place upgrade of an unreleased build) is left as it is.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def _columns(table: str) -> dict[str, sa.types.TypeEngine]:
    inspector = sa.inspect(op.get_bind())
    return {c["name"]: c["type"] for c in inspector.get_columns(table)}


def upgrade() -> None:
    if "provider_detail" not in _columns("channel_deliveries"):
        with op.batch_alter_table("channel_deliveries") as batch:
            batch.add_column(sa.Column("provider_detail", sa.Text(), nullable=True))
    if not isinstance(_columns("channel_watermarks")["high_water"], sa.BigInteger):
        with op.batch_alter_table("channel_watermarks") as batch:
            batch.alter_column("high_water", existing_type=sa.Integer(),
                               type_=sa.BigInteger(), existing_nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("channel_watermarks") as batch:
        batch.alter_column("high_water", existing_type=sa.BigInteger(), type_=sa.Integer(),
                           existing_nullable=False)
    with op.batch_alter_table("channel_deliveries") as batch:
        batch.drop_column("provider_detail")
