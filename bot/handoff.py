"""Handing a conversation from the bot to a person: the record and what the customer is told."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Optional

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.errors import BotError
from bot.models import HANDOFF_REASONS, Handoff, utcnow
from bot.service_hours import ServiceHours


class UnknownReasonError(BotError):
    """A handoff was requested with a reason outside :data:`HANDOFF_REASONS`."""


@dataclass(frozen=True)
class HandoffRequest:
    sender_id: str
    channel: str
    reason: str
    confidence: Optional[float]
    last_message: Optional[str]
    order_number: Optional[str] = None


def _naive_utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(timezone.utc).replace(tzinfo=None)


def handoff(session: Session, request: HandoffRequest, *, now: datetime, outside: bool) -> Handoff:
    """Record a handoff, or return the one still waiting for this customer.

    A customer who asks twice while waiting keeps one place in the queue.
    """
    if request.reason not in HANDOFF_REASONS:
        raise UnknownReasonError(f"unknown handoff reason {request.reason!r}")
    waiting = session.execute(
        select(Handoff)
        .where(Handoff.sender_id == request.sender_id)
        .where(Handoff.status.in_(("open", "assigned", "snoozed")))
        .order_by(Handoff.id.desc())
    ).scalars().first()
    if waiting is not None:
        waiting.last_message = request.last_message or waiting.last_message
        return waiting
    record = Handoff(
        sender_id=request.sender_id,
        channel=request.channel,
        reason=request.reason,
        confidence=request.confidence,
        last_message=request.last_message,
        order_number=request.order_number,
        created_at=_naive_utc(now),
        outside_service_hours=int(outside),
        status="open",
    )
    session.add(record)
    session.flush()
    return record


def customer_notice(hours: ServiceHours, now: datetime, *, wait_minutes: int) -> str:
    """What the customer reads right after the handoff, in German (du-form)."""
    if hours.is_open(now):
        return (
            "Ich gebe dein Anliegen an mein Team weiter. Eine Kollegin oder ein Kollege "
            f"meldet sich hier im Chat, meist innerhalb von {wait_minutes} Minuten. "
            "Du kannst uns in der Zwischenzeit gern schon alle Details schreiben."
        )
    return (
        "Ich gebe dein Anliegen an mein Team weiter. Gerade ist unser Kundenservice nicht "
        f"besetzt (Mo–Fr 8–18 Uhr, Sa 9–14 Uhr). Wir melden uns {hours.describe_next_opening(now)} "
        "hier im Chat. Schreib uns gern schon alle Details, dann geht es schneller."
    )


__all__ = ["HandoffRequest", "UnknownReasonError", "customer_notice", "handoff", "utcnow"]
