"""Initial support schema: the tables as ``create_all`` made them before migrations.

A database made by older code (tables, but no version table) is adopted here: every missing
table is created, and a table that exists gets the columns and indexes it lacks – the inbox
columns ``role`` and ``must_change_password`` were added in place by ``bot/inbox/_migrate.py``
before (``role`` becomes ``admin`` where ``is_admin`` is set). Existing rows are kept.

Revision ID: 0001
Revises:
Create Date: 2026-12-01
"""

from __future__ import annotations

from typing import List

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Boolean, Column, DateTime, Float, ForeignKey, Integer, String, Text

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _schema() -> sa.MetaData:
    """The schema of this revision, frozen here (the models may move on)."""
    meta = sa.MetaData()

    def now() -> Column:
        return Column("created_at", DateTime, nullable=False)

    sa.Table(
        "handoffs", meta,
        Column("id", Integer, primary_key=True),
        Column("sender_id", String(255), nullable=False, index=True),
        Column("channel", String(64), nullable=False),
        Column("reason", String(64), nullable=False),
        Column("confidence", Float, nullable=True),
        Column("last_message", Text, nullable=True),
        now(),
        Column("status", String(16), nullable=False, index=True),
        Column("outside_service_hours", Integer, nullable=False),
        Column("assigned_to", Integer, nullable=True),
        Column("claimed_at", DateTime, nullable=True),
        Column("first_reply_at", DateTime, nullable=True),
        Column("resolved_at", DateTime, nullable=True),
        Column("rating", Integer, nullable=True),
        Column("order_number", String(32), nullable=True),
    )
    sa.Table(
        "order_lookup_guards", meta,
        Column("order_number", String(32), primary_key=True),
        Column("failures", Integer, nullable=False),
        Column("window_started_at", DateTime, nullable=False),
        Column("last_failure_at", DateTime, nullable=True),
        Column("locked_until", DateTime, nullable=True),
        Column("expires_at", DateTime, nullable=False, index=True),
    )
    sa.Table(
        "faq_answer_edits", meta,
        Column("id", Integer, primary_key=True),
        Column("topic", String(64), nullable=False, index=True),
        Column("text", Text, nullable=False),
        Column("author", String(255), nullable=False),
        now(),
        Column("undone_at", DateTime, nullable=True),
        Column("undone_by", String(255), nullable=True),
    )
    sa.Table(
        "trainer_labels", meta,
        Column("id", Integer, primary_key=True),
        Column("fingerprint", String(64), nullable=False, index=True),
        Column("masked_text", Text, nullable=False),
        Column("decision", String(16), nullable=False),
        Column("label", String(128), nullable=True),
        Column("labelled_by", String(64), nullable=False),
        Column("labelled_at", DateTime, nullable=False),
        Column("written_to", String(255), nullable=True),
    )
    sa.Table(
        "answer_ratings", meta,
        Column("id", Integer, primary_key=True),
        Column("sender_id", String(255), nullable=False, index=True),
        Column("topic", String(128), nullable=False, index=True),
        Column("helpful", Boolean, nullable=False),
        Column("channel", String(64), nullable=False),
        Column("answer_at", Float, nullable=False),
        Column("created_at", DateTime, nullable=False, index=True),
        sa.UniqueConstraint("sender_id", "answer_at", name="uq_answer_rating"),
    )
    # -- inbox ----------------------------------------------------------------------------------
    sa.Table(
        "inbox_agents", meta,
        Column("id", Integer, primary_key=True),
        Column("name", String(64), nullable=False, unique=True),
        Column("password_hash", String(255), nullable=False),
        Column("is_admin", Boolean, nullable=False),
        Column("role", String(16), nullable=False, server_default="agent"),
        Column("must_change_password", Boolean, nullable=False, server_default=sa.false()),
        Column("active", Boolean, nullable=False),
        now(),
    )
    sa.Table(
        "inbox_login_throttle", meta,
        Column("key", String(200), primary_key=True),
        Column("failures", Integer, nullable=False),
        Column("window_start", DateTime, nullable=False),
        Column("updated_at", DateTime, nullable=False, index=True),
    )
    sa.Table(
        "inbox_sessions", meta,
        Column("id", Integer, primary_key=True),
        Column("token_hash", String(64), nullable=False, unique=True),
        Column("agent_id", Integer, ForeignKey("inbox_agents.id", ondelete="CASCADE"),
               nullable=False),
        Column("csrf_token", String(64), nullable=False),
        now(),
        Column("expires_at", DateTime, nullable=False),
    )
    sa.Table(
        "inbox_handoff_state", meta,
        Column("handoff_id", Integer, ForeignKey("handoffs.id", ondelete="CASCADE"),
               primary_key=True),
        Column("waiting_since", DateTime, nullable=False),
        Column("waiting_notice_at", DateTime, nullable=True),
        Column("snoozed_until", DateTime, nullable=True),
        Column("last_customer_at", DateTime, nullable=True),
        Column("unread", Integer, nullable=False),
        Column("csat_asked_at", DateTime, nullable=True),
        Column("pause_event_id", Integer, nullable=True),
    )
    sa.Table(
        "inbox_handoff_events", meta,
        Column("id", Integer, primary_key=True),
        Column("handoff_id", Integer, ForeignKey("handoffs.id", ondelete="CASCADE"),
               nullable=False, index=True),
        Column("kind", String(32), nullable=False),
        Column("agent_id", Integer, ForeignKey("inbox_agents.id"), nullable=True),
        Column("target_agent_id", Integer, ForeignKey("inbox_agents.id"), nullable=True),
        Column("detail", Text, nullable=True),
        Column("at", DateTime, nullable=False),
    )
    for name in ("inbox_notes", "inbox_replies"):
        extra: List[Column] = (
            [Column("status", String(16), nullable=False), Column("error", Text, nullable=True)]
            if name == "inbox_replies" else []
        )
        sa.Table(
            name, meta,
            Column("id", Integer, primary_key=True),
            Column("handoff_id", Integer, ForeignKey("handoffs.id", ondelete="CASCADE"),
                   nullable=False, index=True),
            Column("agent_id", Integer, ForeignKey("inbox_agents.id"), nullable=False),
            Column("text", Text, nullable=False),
            now(),
            *extra,
        )
    sa.Table(
        "inbox_canned_responses", meta,
        Column("id", Integer, primary_key=True),
        Column("shortcut", String(32), nullable=False, unique=True),
        Column("text", Text, nullable=False),
        Column("created_by", Integer, ForeignKey("inbox_agents.id"), nullable=True),
        now(),
    )
    sa.Table(
        "inbox_customer_messages", meta,
        Column("id", Integer, primary_key=True),
        Column("broker_event_id", Integer, nullable=False),
        Column("handoff_id", Integer, ForeignKey("handoffs.id", ondelete="CASCADE"),
               nullable=False, index=True),
        Column("text", Text, nullable=True),
        Column("received_at", DateTime, nullable=False),
        sa.UniqueConstraint("broker_event_id"),
    )
    sa.Table(
        "inbox_consumer_offsets", meta,
        Column("source", String(64), primary_key=True),
        Column("last_id", Integer, nullable=False),
        Column("updated_at", DateTime, nullable=False),
    )
    # -- messenger channels -----------------------------------------------------------------------
    sa.Table(
        "channel_inbound", meta,
        Column("id", Integer, primary_key=True),
        Column("channel", String(32), nullable=False),
        Column("external_id", String(128), nullable=False),
        Column("sender_id", String(255), nullable=True),
        Column("received_at", DateTime, nullable=False, index=True),
        Column("payload", Text, nullable=True),
        Column("handled_at", DateTime, nullable=True),
        sa.UniqueConstraint("channel", "external_id", name="uq_channel_inbound"),
    )
    sa.Table(
        "channel_watermarks", meta,
        Column("channel", String(32), primary_key=True),
        Column("high_water", Integer, nullable=False),
    )
    sa.Table(
        "channel_contacts", meta,
        Column("id", Integer, primary_key=True),
        Column("channel", String(32), nullable=False),
        Column("sender_id", String(255), nullable=False, index=True),
        Column("last_inbound_at", DateTime, nullable=True),
        Column("opted_out", Boolean, nullable=False),
        Column("opted_out_at", DateTime, nullable=True),
        Column("unreachable", Boolean, nullable=False),
        Column("unreachable_reason", String(64), nullable=True),
        Column("unreachable_at", DateTime, nullable=True),
        Column("template_sent_at", DateTime, nullable=True),
        sa.UniqueConstraint("channel", "sender_id", name="uq_channel_contact"),
    )
    sa.Table(
        "channel_media", meta,
        Column("id", Integer, primary_key=True),
        Column("channel", String(32), nullable=False),
        Column("sender_id", String(255), nullable=False, index=True),
        Column("external_id", String(128), nullable=True),
        Column("kind", String(32), nullable=False),
        Column("reference", Text, nullable=True),
        Column("content_type", String(128), nullable=True),
        Column("caption", Text, nullable=True),
        Column("details", Text, nullable=True),
        now(),
    )
    sa.Table(
        "channel_deliveries", meta,
        Column("id", Integer, primary_key=True),
        Column("channel", String(32), nullable=False),
        Column("sender_id", String(255), nullable=False, index=True),
        Column("kind", String(16), nullable=False),
        Column("text", Text, nullable=True),
        Column("media_url", Text, nullable=True),
        Column("status", String(16), nullable=False, index=True),
        Column("reason", String(64), nullable=True),
        Column("detail", Text, nullable=True),
        Column("provider_message_id", String(64), nullable=True, index=True),
        Column("error_code", String(16), nullable=True),
        Column("attempts", Integer, nullable=False),
        now(),
        Column("updated_at", DateTime, nullable=False),
    )
    sa.Table(
        "channel_choices", meta,
        Column("id", Integer, primary_key=True),
        Column("channel", String(32), nullable=False),
        Column("sender_id", String(255), nullable=False),
        Column("payloads", Text, nullable=False),
        now(),
        sa.UniqueConstraint("channel", "sender_id", name="uq_channel_choice"),
    )
    sa.Table(
        "channel_payloads", meta,
        Column("key", String(40), primary_key=True),
        Column("payload", Text, nullable=False),
    )
    return meta


def _adopt(bind: sa.engine.Connection, table: sa.Table) -> None:
    """An existing table made by older code: add what it lacks, keep every row."""
    inspector = sa.inspect(bind)
    present = {column["name"] for column in inspector.get_columns(table.name)}
    for column in table.columns:
        if column.name in present:
            continue
        if not column.nullable and column.server_default is None:
            raise RuntimeError(
                f"{table.name}.{column.name} is missing and cannot be added to existing rows"
            )
        op.add_column(table.name, column.copy())
        if (table.name, column.name) == ("inbox_agents", "role"):
            op.execute(sa.text(
                "UPDATE inbox_agents SET role = 'admin' WHERE is_admin = :yes"
            ).bindparams(yes=True))
    indexes = {index["name"] for index in inspector.get_indexes(table.name)}
    for index in table.indexes:
        if index.name not in indexes:
            op.create_index(index.name, table.name, [c.name for c in index.columns],
                            unique=bool(index.unique))


def upgrade() -> None:
    bind = op.get_bind()
    existing = set(sa.inspect(bind).get_table_names())
    for table in _schema().sorted_tables:
        if table.name in existing:
            _adopt(bind, table)
        else:
            table.create(bind)


def downgrade() -> None:
    bind = op.get_bind()
    for table in reversed(_schema().sorted_tables):
        table.drop(bind, checkfirst=True)
