"""``python -m bot demo-traffic``: plays generated history through the real bot, back-dated.

Every conversation of the scenario (:mod:`bot.insights._scenario`) is sent message by message
to the running Rasa REST channel (loopback only), so NLU, policies, actions, tracker store,
event broker and handoffs are the real ones. Right after a conversation, its rows are moved
back to the scenario's time: event timestamps in the event broker and the tracker store, and
the handoff (marked resolved, with the scenario's handback rating, as if an agent had handled
it). Finally the insight aggregates are rebuilt from the stores and the early warning is run
for every played hour, as the live worker would have (alerts go to the configured targets).
"""

from __future__ import annotations

import ipaddress
import json
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Callable, List, Optional

from sqlalchemy import select, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.database import make_engine, session_factory, transaction
from bot.errors import BotError
from bot.inbox._models import HandoffEvent
from bot.insights._scenario import Conversation, plan
from bot.insights._signals import hour_of, rebuild
from bot.insights._worker import Insights, broker_url
from bot.migrations import SUPPORT, ensure_schema
from bot.models import Handoff, utcnow
from bot.settings import Settings

MAX_DAYS = 60
MAX_MESSAGES = 20000
REQUEST_TIMEOUT = 60.0


class DemoError(BotError):
    """The demo traffic cannot be played (no local bot, too much asked)."""


@dataclass
class DemoResult:
    conversations: int = 0
    messages: int = 0
    handoffs: int = 0
    incident_conversations: int = 0
    alerts: int = 0


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _send(url: str, sender: str, message: str) -> None:
    request = urllib.request.Request(
        url, data=json.dumps({"sender": sender, "message": message}).encode("utf-8"),
        headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT) as response:  # noqa: S310
        response.read()


def _stamp(moment: datetime) -> float:
    return moment.replace(tzinfo=timezone.utc).timestamp()


def _shift_events(engine: Engine, sender: str, seconds: float, with_column: bool) -> None:
    with engine.begin() as connection:
        rows = connection.execute(text("SELECT id, data FROM events WHERE sender_id = :s"),
                                  {"s": sender}).all()
        for row_id, raw in rows:
            try:
                data = json.loads(raw or "{}")
            except ValueError:
                continue
            if isinstance(data, dict) and isinstance(data.get("timestamp"), (int, float)):
                data["timestamp"] = float(data["timestamp"]) + seconds
            values = {"id": row_id, "data": json.dumps(data), "by": seconds}
            if with_column:
                connection.execute(text("UPDATE events SET data = :data, "
                                        "timestamp = timestamp + :by WHERE id = :id"), values)
            else:
                connection.execute(text("UPDATE events SET data = :data WHERE id = :id"),
                                   values)


def _backdate_handoffs(sessions: "sessionmaker[Session]", sender: str, shift: timedelta,
                       rating: Optional[int]) -> int:
    with transaction(sessions) as session:
        handoffs = session.execute(select(Handoff).where(Handoff.sender_id == sender)
                                   ).scalars().all()
        for handoff in handoffs:
            handoff.created_at = handoff.created_at + shift
            handoff.status = "resolved"
            handoff.resolved_at = handoff.created_at + timedelta(minutes=25)
            for event in session.execute(select(HandoffEvent).where(
                    HandoffEvent.handoff_id == handoff.id)).scalars():
                event.at = event.at + shift
            session.add(HandoffEvent(handoff_id=handoff.id, kind="resolved",
                                     at=handoff.resolved_at))
            if rating is not None:
                handoff.rating = rating
                session.add(HandoffEvent(handoff_id=handoff.id, kind="rated", detail=str(rating),
                                         at=handoff.resolved_at + timedelta(minutes=1)))
        return len(handoffs)


def play(settings: Settings, days: float, *, per_day: float = 60.0, seed: int = 15,
         incident: bool = True, end: Optional[datetime] = None,
         progress: Optional[Callable[[int, int], None]] = None) -> DemoResult:
    """Play ``days`` of history ending at ``end`` (default: now) through the running bot."""
    if not 0 < days <= MAX_DAYS:
        raise DemoError(f"--days must be between 1 and {MAX_DAYS}")
    if not _loopback(settings.host):
        raise DemoError("demo traffic only goes to a bot on this machine (BOT_HOST loopback)")
    end = end or utcnow()
    conversations: List[Conversation] = plan(days, end=end, seed=seed, per_day=per_day,
                                             incident=incident, zone=settings.timezone)
    total = sum(len(c.messages) for c in conversations)
    if total > MAX_MESSAGES:
        raise DemoError(f"{total} messages are too many for a demo (at most {MAX_MESSAGES})")
    url = f"{settings.rasa_url}/webhooks/rest/webhook"
    broker = make_engine(broker_url(settings))
    tracker = make_engine(settings.tracker_db_url)
    support_engine = make_engine(settings.support_db_url)
    ensure_schema(support_engine, SUPPORT)
    support = session_factory(support_engine)
    run = f"{int(_stamp(utcnow()))}"
    result = DemoResult()
    try:
        for number, conversation in enumerate(conversations, start=1):
            sender = f"demo-{run}-{number}"
            began = utcnow()
            for message in conversation.messages:
                try:
                    _send(url, sender, message)
                except OSError as error:
                    raise DemoError(f"the bot at {settings.rasa_url} does not answer ({error}); "
                                    "start it with `python -m bot run`") from None
                result.messages += 1
            shift = conversation.start - began
            _shift_events(broker, sender, shift.total_seconds(), with_column=False)
            _shift_events(tracker, sender, shift.total_seconds(), with_column=True)
            result.handoffs += _backdate_handoffs(support, sender, shift,
                                                  conversation.rating)
            result.conversations += 1
            result.incident_conversations += int(conversation.incident)
            if progress is not None and (number % 100 == 0 or number == len(conversations)):
                progress(number, len(conversations))
    finally:
        broker.dispose()
        tracker.dispose()
        support_engine.dispose()
    insights = Insights.open(settings)
    try:
        rebuild(insights.sessions)
        insights.aggregate()
        # Replay the early warning hour by hour, as the worker would have run it live; the
        # alerts are delivered by the inbox's worker (with "erkannt am …").
        hour = hour_of(end - timedelta(days=days))
        while hour <= end:
            result.alerts += len(insights.check(min(end, hour + timedelta(minutes=59))))
            hour += timedelta(hours=1)
    finally:
        insights.close()
    return result


__all__ = ["DemoError", "DemoResult", "play"]
