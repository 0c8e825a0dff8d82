"""Support database schema: handoffs from the bot to community managers.

The inbox adds its own tables to the same metadata (``SupportBase``).
"""

from __future__ import annotations

from datetime import datetime, timezone
from enum import Enum
from typing import Any

from sqlalchemy import Column, DateTime, Float, Integer, String, Text
from sqlalchemy.orm import declarative_base

SupportBase: Any = declarative_base()


class StrEnum(str, Enum):
    """Python 3.11's ``enum.StrEnum`` for 3.10: members compare, hash and print as the string
    that is stored."""

    def __str__(self) -> str:
        return str(self.value)


class HandoffReason(StrEnum):
    """Why the bot handed a conversation to the team (stored in ``handoffs.reason``)."""

    LOW_NLU_CONFIDENCE = "low_nlu_confidence"
    LOW_ANSWER_CONFIDENCE = "low_answer_confidence"
    REPEATED_FALLBACK = "repeated_fallback"
    CUSTOMER_REQUEST = "customer_request"
    COMPLAINT = "complaint"
    ORDER_LOOKUP_FAILED = "order_lookup_failed"
    # The order number is locked after too many failed lookups (bot/order_guard.py).
    ORDER_LOCKED = "order_locked"


class HandoffStatus(StrEnum):
    """Where a handoff stands (stored in ``handoffs.status``)."""

    OPEN = "open"
    ASSIGNED = "assigned"
    SNOOZED = "snoozed"
    RESOLVED = "resolved"


HANDOFF_REASONS = tuple(reason.value for reason in HandoffReason)
HANDOFF_STATUSES = tuple(status.value for status in HandoffStatus)
# A handoff the team still has to work on.
ACTIVE_STATUSES = (HandoffStatus.OPEN, HandoffStatus.ASSIGNED, HandoffStatus.SNOOZED)


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
