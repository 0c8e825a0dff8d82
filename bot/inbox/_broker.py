"""Consumer of Rasa's SQL event broker: learns of new customer and bot messages and handoffs.

Rasa's ``SQLEventBroker`` appends every tracker event as a row ``(id, sender_id, data)`` to the
table ``events``. The consumer reads rows after the last processed id, applies them to the
support database and stores the new offset *in the same transaction*, so a restart neither
misses nor repeats a message. Live updates go to the browsers after the commit.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Awaitable, Callable, Dict, List, Optional, Set

from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from bot._background import worth_logging
from bot.database import insert_if_missing
from bot.handoff import recover_handoff
from bot.inbox._models import ConsumerOffset, CustomerMessage
from bot.inbox._service import ACTIVE_STATUSES, ensure_state, wake
from bot.inbox._store import InboxStore
from bot.inbox._transcript import INBOX_META, Item, event_key, from_timestamp, item_from_event
from bot.inbox._webchat import team_name
from bot.models import Handoff
from bot.privacy import pseudo

logger = logging.getLogger(__name__)

SOURCE = "rasa-sql-events"
BATCH_SIZE = 500
RELEVANT_ACTIONS = ("action_handoff", "action_store_rating")


@dataclass(frozen=True)
class BrokerRow:
    id: int
    sender_id: str
    data: Dict[str, Any]


class SqlBrokerReader:
    """Reads Rasa's ``events`` table (read-only; missing table = nothing yet)."""

    def __init__(self, url: str) -> None:
        connect_args: Dict[str, Any] = {}
        if url.startswith("sqlite"):
            connect_args = {"timeout": 30, "check_same_thread": False}
        self.engine: Engine = create_engine(url, future=True, connect_args=connect_args)

    def read_after(self, last_id: int, limit: int = BATCH_SIZE) -> List[BrokerRow]:
        try:
            with self.engine.connect() as connection:
                result = connection.execute(
                    text("SELECT id, sender_id, data FROM events WHERE id > :last "
                         "ORDER BY id LIMIT :limit"),
                    {"last": last_id, "limit": limit},
                ).all()
        except SQLAlchemyError as error:
            if "no such table" in str(error).lower() or "does not exist" in str(error).lower():
                return []
            raise
        rows = []
        for row_id, sender_id, data in result:
            try:
                parsed = json.loads(data) if data else {}
            except ValueError:
                parsed = {}
            rows.append(BrokerRow(int(row_id), str(sender_id or ""),
                                  parsed if isinstance(parsed, dict) else {}))
        return rows

    def close(self) -> None:
        self.engine.dispose()


@dataclass
class LiveMessage:
    sender_id: str
    handoff_id: int
    item: Item
    # For the local web chat: an inbox-sent bot message the REST channel cannot push.
    web_chat: Optional[Dict[str, Any]] = None


@dataclass
class Outcome:
    queue_changed: bool = False
    messages: List[LiveMessage] = field(default_factory=list)
    conversations: Set[int] = field(default_factory=set)


def current_offset(session: Session) -> int:
    offset = session.get(ConsumerOffset, SOURCE)
    return int(offset.last_id) if offset is not None else 0


def _web_payload(event: Dict[str, Any]) -> Dict[str, Any]:
    data = event.get("data") or {}
    buttons = [
        {"title": str(b.get("title") or ""), "payload": str(b.get("payload") or "")}
        for b in data.get("buttons") or []
        if isinstance(b, dict)
    ]
    payload: Dict[str, Any] = {"text": str(event.get("text") or ""), "buttons": buttons}
    name = team_name(event.get("metadata"))
    if name:
        payload["agent"] = name
    return payload


def _locked_offset(session: Session, now: datetime) -> ConsumerOffset:
    """The offset row, created if missing and locked until the transaction ends: inbox
    processes consuming at once take turns (PostgreSQL: the row lock; SQLite: the write lock
    the insert takes), and the later one skips the rows the earlier one did."""
    values = {"source": SOURCE, "last_id": 0, "updated_at": now}
    insert_if_missing(session, ConsumerOffset, values, "source")
    offset = session.get(ConsumerOffset, SOURCE, with_for_update=True, populate_existing=True)
    assert offset is not None
    return offset


def process_rows(session: Session, rows: List[BrokerRow], now: datetime,
                 track_offset: bool = True) -> Outcome:
    """Apply broker rows to the support database and advance the offset (one transaction).

    ``track_offset=False``: the caller already made sure each row is new (the RabbitMQ
    consumer, :mod:`bot.inbox._amqp`, keys rows by event identity instead of an offset)."""
    outcome = Outcome()
    offset = _locked_offset(session, now) if track_offset else None
    for row in rows:
        if offset is not None:
            if row.id <= offset.last_id:
                continue
            offset.last_id = row.id
        event = row.data
        kind = event.get("event")
        if kind not in ("user", "bot", "pause", "resume", "action"):
            continue
        if kind == "action" and event.get("name") not in RELEVANT_ACTIONS:
            continue
        sender = row.sender_id or str(event.get("sender_id") or "")
        handoff = session.execute(
            select(Handoff).where(Handoff.sender_id == sender).order_by(Handoff.id.desc()).limit(1)
        ).scalars().first()
        if kind == "pause" and (handoff is None or handoff.status not in ACTIVE_STATUSES):
            # The bot could not write the handoff row (database unavailable): record it now.
            metadata = event.get("metadata")
            recovered = recover_handoff(
                session, sender, metadata if isinstance(metadata, dict) else {}, now=now
            )
            if recovered is not None:
                logger.warning("recorded handoff %s of %s from its pause event", recovered.id,
                               pseudo(sender))
                handoff = recovered
        if handoff is None:
            continue  # a conversation the bot handles alone: not the inbox's business
        active = handoff.status in ACTIVE_STATUSES
        item = item_from_event(event, event_key(event), sender)
        if kind == "pause" and active:
            state = ensure_state(session, handoff)
            if state.pause_event_id is None:
                state.pause_event_id = row.id
            outcome.queue_changed = True
            outcome.conversations.add(handoff.id)
        elif kind == "user" and active:
            state = ensure_state(session, handoff)
            if offset is not None:
                after_pause = state.pause_event_id is not None and row.id > state.pause_event_id
            else:  # competing consumers may see the pause after this message: go by time
                after_pause = from_timestamp(event.get("timestamp")) > handoff.created_at
            if after_pause:
                seen = session.execute(
                    select(CustomerMessage.id).where(CustomerMessage.broker_event_id == row.id)
                ).first()
                if seen is None:
                    received = from_timestamp(event.get("timestamp"))
                    words = str(event.get("text") or "")
                    session.add(CustomerMessage(broker_event_id=row.id, handoff_id=handoff.id,
                                                text=words, received_at=received))
                    if words and not words.startswith("/"):
                        handoff.last_message = words
                    elif item is not None and item.media:
                        handoff.last_message = "📎 " + item.media[0].label
                    state.last_customer_at = received
                    state.unread = (state.unread or 0) + 1
                    if wake(session, handoff, now, None, "customer"):
                        outcome.conversations.add(handoff.id)
                outcome.queue_changed = True
        elif kind == "action":
            outcome.conversations.add(handoff.id)
            outcome.queue_changed = outcome.queue_changed or active
        if item is not None:
            web_chat = None
            metadata = event.get("metadata")
            if kind == "bot" and isinstance(metadata, dict) and INBOX_META in metadata:
                web_chat = _web_payload(event)
            outcome.messages.append(LiveMessage(sender, handoff.id, item, web_chat))
    if offset is not None:
        offset.updated_at = now
    return outcome


Publisher = Callable[[Outcome], Awaitable[None]]
Clock = Callable[[], datetime]


async def consume_once(store: InboxStore, reader: SqlBrokerReader, clock: Clock,
                       publish: Optional[Publisher] = None) -> int:
    """Process one batch; returns how many broker rows were read."""
    last_id = await store.run(current_offset)
    rows = await asyncio.to_thread(reader.read_after, last_id, BATCH_SIZE)
    if not rows:
        return 0
    outcome = await store.run(lambda session: process_rows(session, rows, clock()))
    if publish is not None:
        try:
            await publish(outcome)
        except Exception:  # live updates are best effort; the data is committed
            logger.exception("could not publish live updates")
    return len(rows)


async def run_consumer(store: InboxStore, reader: SqlBrokerReader, clock: Clock, publish: Publisher,
                       interval: float = 0.4) -> None:
    """Consume forever (cancel the task to stop)."""
    failures = 0
    while True:
        try:
            read = await consume_once(store, reader, clock, publish)
            failures = 0
        except asyncio.CancelledError:
            raise
        except Exception:
            failures += 1
            if worth_logging(failures):
                logger.exception("event broker consumer failed (%s times in a row)", failures)
            read = 0
            await asyncio.sleep(min(10.0, interval * failures))
        if read < BATCH_SIZE:
            await asyncio.sleep(interval)
