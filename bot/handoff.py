"""Handing a conversation from the bot to a person: the record and what the customer is told."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from typing import Any, Dict, Mapping, Optional

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.errors import BotError
from bot.models import (
    ACTIVE_STATUSES,
    HANDOFF_REASONS,
    Handoff,
    HandoffReason,
    HandoffStatus,
    utcnow,
)
from bot.service_hours import HOURS_DE, HOURS_EN, ServiceHours


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
        .where(Handoff.status.in_(ACTIVE_STATUSES))
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
        status=HandoffStatus.OPEN,
    )
    session.add(record)
    session.flush()
    return record


# Key of the handoff request in the metadata of the ``pause`` event when the row could not be
# written: the inbox's event-broker consumer creates the row from it (see recover_handoff).
UNRECORDED_KEY = "unrecorded_handoff"


def unrecorded_metadata(request: HandoffRequest, *, now: datetime, outside: bool) -> Dict[str, Any]:
    """What the pause event carries when the support database refused the handoff.

    The customer's words stay out: they are in the tracker's user event already, and a copy
    here would be one more place to find when a customer asks for erasure.
    """
    fields = asdict(request)
    fields.pop("last_message", None)
    fields.pop("sender_id", None)  # the event's own sender id counts
    return {
        UNRECORDED_KEY: {
            **fields,
            "created_at": _naive_utc(now).isoformat(),
            "outside_service_hours": bool(outside),
        }
    }


def _text(value: Any, limit: int) -> Optional[str]:
    return str(value)[:limit] if isinstance(value, (str, int, float)) and value != "" else None


def recover_handoff(
    session: Session, sender_id: str, metadata: Mapping[str, Any], *, now: datetime
) -> Optional[Handoff]:
    """Record a handoff the bot could not write, from its pause event's metadata.

    Returns None if the event carries none. Every field is checked (unknown reason ->
    ``customer_request``); a customer already waiting keeps the one place in the queue.
    """
    raw = metadata.get(UNRECORDED_KEY) if isinstance(metadata, Mapping) else None
    if not isinstance(raw, Mapping) or not sender_id:
        return None
    confidence = raw.get("confidence")
    created = now
    try:
        created = datetime.fromisoformat(str(raw.get("created_at")))
    except ValueError:
        pass
    reason = str(raw.get("reason") or "")
    request = HandoffRequest(
        sender_id=sender_id,
        channel=_text(raw.get("channel"), 64) or "rest",
        reason=reason if reason in HANDOFF_REASONS else HandoffReason.CUSTOMER_REQUEST,
        confidence=float(confidence) if isinstance(confidence, (int, float)) else None,
        last_message=None,  # the inbox shows the conversation from the tracker
        order_number=_text(raw.get("order_number"), 32),
    )
    return handoff(session, request, now=created, outside=bool(raw.get("outside_service_hours")))


def customer_notice(
    hours: ServiceHours, now: datetime, *, wait_minutes: int, english: bool = False
) -> str:
    """What the customer reads right after the handoff: German (du-form), or English for a
    customer who writes English (a colleague can help in English)."""
    if english:
        return _english_notice(hours, now, wait_minutes=wait_minutes)
    if hours.is_open(now):
        return (
            "Ich gebe dein Anliegen an mein Team weiter. Eine Kollegin oder ein Kollege "
            f"meldet sich hier im Chat, meist innerhalb von {wait_minutes} Minuten. "
            "Du kannst uns in der Zwischenzeit gern schon alle Details schreiben."
        )
    return (
        "Ich gebe dein Anliegen an mein Team weiter. Gerade ist unser Kundenservice nicht "
        f"besetzt ({HOURS_DE}). Wir melden uns {hours.describe_next_opening(now)} "
        "hier im Chat. Schreib uns gern schon alle Details, dann geht es schneller."
    )


def _english_notice(hours: ServiceHours, now: datetime, *, wait_minutes: int) -> str:
    if hours.is_open(now):
        return (
            "I'm passing your request to my team. A colleague will reply here in this chat, "
            f"in English, usually within {wait_minutes} minutes. Feel free to send us all the "
            "details in the meantime."
        )
    return (
        "I'm passing your request to my team. Our customer service is closed right now "
        f"({HOURS_EN}). A colleague will reply here in this chat, in English, "
        f"{hours.describe_next_opening_en(now)}. Feel free to send us "
        "all the details in the meantime."
    )


__all__ = [
    "UNRECORDED_KEY",
    "HandoffRequest",
    "UnknownReasonError",
    "customer_notice",
    "handoff",
    "recover_handoff",
    "unrecorded_metadata",
    "utcnow",
]
