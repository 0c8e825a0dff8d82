"""Support database schema: handoffs from the bot to community managers.

The inbox adds its own tables to the same metadata (``SupportBase``).
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import Column, DateTime, Float, Integer, String, Text
from sqlalchemy.orm import declarative_base

SupportBase: Any = declarative_base()

HANDOFF_REASONS = (
    "low_nlu_confidence",
    "low_answer_confidence",
    "repeated_fallback",
    "customer_request",
    "complaint",
    "order_lookup_failed",
    # The order number is locked after too many failed lookups (bot/order_guard.py).
    "order_locked",
)

HANDOFF_STATUSES = ("open", "assigned", "snoozed", "resolved")


def utcnow() -> datetime:
    """Naive UTC timestamp, the form stored in the database."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


class Handoff(SupportBase):
    """One escalation of a conversation from the bot to a person."""

    __tablename__ = "handoffs"

    id = Column(Integer, primary_key=True)
    sender_id = Column(String(255), nullable=False, index=True)
    channel = Column(String(64), nullable=False)
    reason = Column(String(64), nullable=False)
    confidence = Column(Float, nullable=True)
    last_message = Column(Text, nullable=True)
    created_at = Column(DateTime, nullable=False, default=utcnow)
    status = Column(String(16), nullable=False, default="open", index=True)
    outside_service_hours = Column(Integer, nullable=False, default=0)
    assigned_to = Column(Integer, nullable=True)
    claimed_at = Column(DateTime, nullable=True)
    first_reply_at = Column(DateTime, nullable=True)
    resolved_at = Column(DateTime, nullable=True)
    rating = Column(Integer, nullable=True)
    order_number = Column(String(32), nullable=True)

    def __repr__(self) -> str:
        return f"<Handoff {self.id} {self.sender_id} {self.reason} {self.status}>"
