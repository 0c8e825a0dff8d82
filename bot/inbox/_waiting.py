"""Housekeeping every few seconds: wake snoozed conversations, tell waiting customers honestly
when a person will answer (at most one such message per waiting period)."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Awaitable, Callable, List, Tuple

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot.inbox._models import HandoffEvent, HandoffState
from bot.inbox._rasa import RasaClient, RasaRequestError, RasaUnavailableError
from bot.inbox._service import ACTIVE_STATUSES, ensure_state, wake_due
from bot.inbox._store import InboxStore
from bot.inbox._transcript import INBOX_META
from bot.language import looks_english
from bot.models import Handoff, HandoffStatus
from bot.service_hours import HOURS_DE, HOURS_EN, ServiceHours

logger = logging.getLogger(__name__)

Clock = Callable[[], datetime]


def waiting_notice_text(hours: ServiceHours, now: datetime, *, english: bool = False) -> str:
    """German, du-form, honest: no promise we cannot keep. English for a customer who wrote
    English when handed over (the handoff notice promised an answer in English)."""
    if english:
        return _english_waiting_notice(hours, now)
    if hours.is_open(now):
        return (
            "Danke für deine Geduld! Gerade sind alle aus unserem Team im Gespräch, deshalb "
            "dauert es etwas länger. Du bist in der Warteschlange und bekommst hier im Chat eine "
            "Antwort, sobald jemand frei ist. Deine Nachrichten liegen uns schon vor."
        )
    return (
        f"Danke für deine Geduld! Unser Kundenservice ist gerade nicht besetzt ({HOURS_DE}). "
        f"Wir melden uns {hours.describe_next_opening(now)} hier im Chat. "
        "Deine Nachrichten liegen uns schon vor."
    )


def _english_waiting_notice(hours: ServiceHours, now: datetime) -> str:
    if hours.is_open(now):
        return (
            "Thank you for your patience! Everyone on our team is in a conversation right now, "
            "so it is taking a little longer. You are in the queue and a colleague will reply "
            "here in this chat, in English, as soon as someone is free. We already have your "
            "messages."
        )
    return (
        f"Thank you for your patience! Our customer service is closed right now ({HOURS_EN}). "
        "A colleague will reply here in this chat, in English, "
        f"{hours.describe_next_opening_en(now)}. We already have your messages."
    )


def sync_states(session: Session) -> int:
    """Bookkeeping rows for active handoffs the consumer has not seen yet."""
    missing = session.execute(
        select(Handoff)
        .outerjoin(HandoffState, HandoffState.handoff_id == Handoff.id)
        .where(Handoff.status.in_(ACTIVE_STATUSES))
        .where(HandoffState.handoff_id.is_(None))
    ).scalars().all()
    for handoff in missing:
        ensure_state(session, handoff)
    return len(missing)


def claim_due_notices(
    session: Session, now: datetime, wait_minutes: int
) -> List[Tuple[int, str, bool]]:
    """Mark the waiting notice as sent for every handoff that has waited too long unclaimed:
    (handoff id, sender, whether the customer wrote English when handed over).

    Marking happens before sending, with a conditional UPDATE: never two notices per period.
    """
    deadline = now - timedelta(minutes=wait_minutes)
    candidates = session.execute(
        select(Handoff.id, Handoff.sender_id, Handoff.last_message)
        .join(HandoffState, HandoffState.handoff_id == Handoff.id)
        .where(Handoff.status == HandoffStatus.OPEN)
        .where(Handoff.assigned_to.is_(None))
        .where(HandoffState.waiting_notice_at.is_(None))
        .where(HandoffState.waiting_since <= deadline)
    ).all()
    due = []
    for handoff_id, sender_id, last_message in candidates:
        result = session.execute(
            update(HandoffState)
            .where(HandoffState.handoff_id == handoff_id)
            .where(HandoffState.waiting_notice_at.is_(None))
            .values(waiting_notice_at=now)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount == 1:
            due.append((int(handoff_id), str(sender_id), looks_english(last_message or "")))
    return due


def _record_notice(session: Session, handoff_id: int, now: datetime, detail: str) -> None:
    session.add(HandoffEvent(handoff_id=handoff_id, kind="waiting_notice", detail=detail, at=now))


@dataclass
class Housekeeping:
    store: InboxStore
    rasa: Callable[[], RasaClient]
    hours: ServiceHours
    clock: Clock
    wait_minutes: int
    on_change: Callable[[List[int]], Awaitable[None]]
    sent: List[int] = field(default_factory=list)

    async def run_once(self) -> None:
        now = self.clock()
        await self.store.run(sync_states)
        woken = await self.store.run(lambda session: wake_due(session, now))
        due = await self.store.run(
            lambda session: claim_due_notices(session, now, self.wait_minutes)
        )
        for handoff_id, sender_id, english in due:
            text = waiting_notice_text(self.hours, now, english=english)
            detail = ""
            try:
                await self.rasa().append_events(
                    sender_id,
                    [{"event": "bot", "text": text,
                      "metadata": {INBOX_META: {"kind": "waiting_notice",
                                                "handoff_id": handoff_id}}}],
                )
                self.sent.append(handoff_id)
            except (RasaRequestError, RasaUnavailableError) as error:
                logger.warning("waiting notice for handoff %s not delivered: %s", handoff_id, error)
                detail = "nicht zugestellt"
            await self.store.run(partial(_record_notice, handoff_id=handoff_id, now=now,
                                         detail=detail))
        changed = woken + [handoff_id for handoff_id, _, _ in due]
        if changed:
            await self.on_change(changed)

    async def run_forever(self, interval: float = 15.0) -> None:
        while True:
            try:
                await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("inbox housekeeping failed")
            await asyncio.sleep(interval)
