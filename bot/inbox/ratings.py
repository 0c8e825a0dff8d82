"""Storing the customer's rating (1–5) of a handed-back conversation. Used by the action
server (``actions/feedback.py``), so it imports nothing from the web app."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any, Optional

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.inbox._models import HandoffEvent
from bot.models import Handoff, HandoffStatus

# A rating is accepted this long after the conversation was handed back.
RATING_WINDOW = timedelta(days=2)
_WORDS = {"eins": 1, "zwei": 2, "drei": 3, "vier": 4, "fünf": 5, "fuenf": 5}
_DIGIT = re.compile(r"(?<!\d)([1-5])(?!\d)")


def parse_rating(value: Any) -> Optional[int]:
    """1–5 from an entity value or the customer's words ('4', 'eine 5', 'vier Sterne')."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        number = int(value)
        return number if 1 <= number <= 5 and number == value else None
    text = str(value or "").strip().lower()
    match = _DIGIT.search(text)
    if match:
        return int(match.group(1))
    for word, number in _WORDS.items():
        if re.search(rf"\b{word}\b", text):
            return number
    return None


def record_rating(
    session: Session, sender_id: str, rating: int, now: datetime
) -> Optional[Handoff]:
    """Store ``rating`` with the customer's latest handed-back, not yet rated handoff."""
    if not 1 <= rating <= 5:
        raise ValueError("rating must be 1..5")
    handoff = session.execute(
        select(Handoff)
        .where(Handoff.sender_id == sender_id)
        .where(Handoff.status == HandoffStatus.RESOLVED)
        .order_by(Handoff.resolved_at.desc(), Handoff.id.desc())
        .limit(1)
    ).scalars().first()
    if handoff is None or handoff.rating is not None or handoff.resolved_at is None:
        return None
    if now - handoff.resolved_at > RATING_WINDOW:
        return None
    handoff.rating = rating
    session.add(HandoffEvent(handoff_id=handoff.id, kind="rated", detail=str(rating), at=now))
    return handoff


__all__ = ["RATING_WINDOW", "parse_rating", "record_rating"]
