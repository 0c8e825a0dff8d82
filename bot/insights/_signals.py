"""Signals per hour from Rasa's event broker and the support database, aggregated
incrementally into ``insight_counts`` (with a few masked examples in ``insight_samples``).

Counted (kind → key):

==============  =====================================================================
message         every customer message (user event)
conversation    every new conversation (``session_started``)
topic           FAQ topic asked (response selector result of the user event), key = topic
complaint       messages read as ``complaint``
order_lookup    order-status lookups the bot ran (``action_order_status``)
ask_back        the bot asked back (``utter_ask_back`` / ``utter_ask_rephrase``)
unanswered      messages the bot did not understand (``nlu_fallback``, ``out_of_scope``;
                not an order number / postal code typed into the order-status form)
handoff         handoffs to a person (support DB ``handoffs``), key = reason
rating          handback CSAT 1–5 (support DB, ``rated`` events), key = the rating
helpful         "Hat dir das geholfen?" after an FAQ answer (``answer_rating`` slot event),
                key = ``<topic>:yes`` or ``<topic>:no``
==============  =====================================================================

Each source keeps its own offset (``inbox_consumer_offsets``); a batch and its offset are
committed together, so a restart neither misses nor double-counts. Runs in a worker thread.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Dict, List, Optional, Sequence, Tuple

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from bot.database import transaction
from bot.inbox._broker import BrokerRow, SqlBrokerReader
from bot.inbox._models import ConsumerOffset, HandoffEvent
from bot.insights._mask import mask_text
from bot.insights._models import SignalCount, SignalSample
from bot.models import Handoff, utcnow

BROKER_SOURCE = "insights-broker"
HANDOFF_SOURCE = "insights-handoffs"
RATING_SOURCE = "insights-ratings"
SOURCES = (BROKER_SOURCE, HANDOFF_SOURCE, RATING_SOURCE)
BATCH_SIZE = 2000
UNANSWERED_INTENTS = ("nlu_fallback", "out_of_scope")
FORM_ENTITIES = ("order_number", "postal_code")
ASK_BACK_RESPONSES = ("utter_ask_back", "utter_ask_rephrase")
RATING_SLOT = "answer_rating"  # set by actions/answer_rating.py: {topic, helpful, channel}
# Examples kept per hour and series (alerts show 3, the report clusters the unanswered ones).
SAMPLES_PER_HOUR = {"topic": 5, "complaint": 5, "handoff": 5, "unanswered": 40}
# Samples older than this are deleted (alerts and the report look back at most 5 weeks).
SAMPLE_DAYS = 42

Key = Tuple[datetime, str, str]


def hour_of(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def hour_from_timestamp(value: Any) -> Optional[datetime]:
    try:
        stamp = float(value)
    except (TypeError, ValueError):
        return None
    if not 0 < stamp < 1e11:
        return None
    return hour_of(datetime.fromtimestamp(stamp, tz=timezone.utc).replace(tzinfo=None))


@dataclass
class Batch:
    counts: Counter = field(default_factory=Counter)
    samples: Dict[Key, List[str]] = field(default_factory=dict)

    def add(self, hour: datetime, kind: str, key: str = "", text: Optional[str] = None) -> None:
        bucket = (hour, kind, key[:100])
        self.counts[bucket] += 1
        limit = SAMPLES_PER_HOUR.get(kind, 0)
        if text and limit and not text.startswith("/"):
            kept = self.samples.setdefault(bucket, [])
            if len(kept) < limit:
                kept.append(mask_text(text))


def faq_topic(parse_data: Dict[str, Any]) -> str:
    """The FAQ topic the response selector picked (``damaged_parcel``), '' if none."""
    selector = parse_data.get("response_selector")
    faq = selector.get("faq") if isinstance(selector, dict) else None
    if not isinstance(faq, dict):
        return ""
    response = faq.get("response")
    key = response.get("intent_response_key") if isinstance(response, dict) else None
    if not key:
        ranking = faq.get("ranking")
        if isinstance(ranking, list) and ranking and isinstance(ranking[0], dict):
            key = ranking[0].get("intent_response_key")
    return str(key or "").split("/", 1)[-1]


def answer_rating(value: Any) -> Optional[Tuple[str, bool]]:
    """(topic, helpful) of an ``answer_rating`` slot value, None if it is not a rating."""
    if not isinstance(value, dict) or not isinstance(value.get("helpful"), bool):
        return None
    topic = str(value.get("topic") or "").split("/", 1)[-1][:80]
    return (topic, bool(value["helpful"])) if topic else None


def _form_answer(parse: Dict[str, Any]) -> bool:
    """An order number or postal code typed into the order-status form: the form reads it
    from the text, so the NLU's fallback on it is no unanswered question."""
    entities = parse.get("entities")
    return isinstance(entities, list) and any(
        isinstance(e, dict) and e.get("entity") in FORM_ENTITIES for e in entities)


def classify(rows: Sequence[BrokerRow], batch: Batch) -> None:
    """Add the signals of broker rows to ``batch``."""
    for row in rows:
        event = row.data
        kind = event.get("event")
        hour = hour_from_timestamp(event.get("timestamp"))
        if hour is None:
            continue
        if kind == "user":
            text = str(event.get("text") or "")
            parse = event.get("parse_data")
            parse = parse if isinstance(parse, dict) else {}
            intent_info = parse.get("intent")
            intent = str(intent_info.get("name") or "") if isinstance(intent_info, dict) else ""
            batch.add(hour, "message")
            if intent == "faq":
                batch.add(hour, "topic", faq_topic(parse) or "faq", text)
            elif intent == "complaint":
                batch.add(hour, "complaint", "", text)
            elif intent in UNANSWERED_INTENTS and not _form_answer(parse):
                batch.add(hour, "unanswered", "", text)
        elif kind == "session_started":
            batch.add(hour, "conversation")
        elif kind == "slot" and event.get("name") == RATING_SLOT:
            rated = answer_rating(event.get("value"))
            if rated is not None:
                batch.add(hour, "helpful", f"{rated[0]}:{'yes' if rated[1] else 'no'}")
        elif kind == "action" and event.get("name") == "action_order_status":
            batch.add(hour, "order_lookup")
        elif kind == "bot":
            metadata = event.get("metadata")
            if isinstance(metadata, dict) and metadata.get("utter_action") in ASK_BACK_RESPONSES:
                batch.add(hour, "ask_back")


def _offset(session: Session, source: str) -> ConsumerOffset:
    offset = session.get(ConsumerOffset, source)
    if offset is None:
        offset = ConsumerOffset(source=source, last_id=0, updated_at=utcnow())
        session.add(offset)
        session.flush()
    return offset


def _apply(session: Session, batch: Batch) -> None:
    for (hour, kind, key), number in batch.counts.items():
        row = session.get(SignalCount, (hour, kind, key))
        if row is None:
            session.add(SignalCount(hour=hour, kind=kind, key=key, count=number))
            session.flush()
        else:
            row.count = int(row.count) + number
    for (hour, kind, key), texts in batch.samples.items():
        for text in texts:
            session.add(SignalSample(hour=hour, kind=kind, key=key, text=text))


def aggregate_broker(sessions: "sessionmaker[Session]", reader: SqlBrokerReader,
                     limit: int = BATCH_SIZE) -> int:
    """Aggregate the next broker rows; returns how many were read."""
    with transaction(sessions) as session:
        start = int(_offset(session, BROKER_SOURCE).last_id)
    rows = reader.read_after(start, limit)
    if not rows:
        return 0
    batch = Batch()
    classify(rows, batch)
    with transaction(sessions) as session:
        offset = _offset(session, BROKER_SOURCE)
        if int(offset.last_id) != start:
            return 0  # moved meanwhile (a rebuild): read again from the new offset
        _apply(session, batch)
        offset.last_id = rows[-1].id
        offset.updated_at = utcnow()
    return len(rows)


def aggregate_support(sessions: "sessionmaker[Session]", limit: int = BATCH_SIZE) -> int:
    """Aggregate new handoffs (by reason) and handback ratings; returns rows read."""
    with transaction(sessions) as session:
        batch = Batch()
        handoff_offset = _offset(session, HANDOFF_SOURCE)
        handoffs = session.execute(
            select(Handoff.id, Handoff.created_at, Handoff.reason, Handoff.last_message)
            .where(Handoff.id > handoff_offset.last_id).order_by(Handoff.id).limit(limit)
        ).all()
        for handoff_id, created, reason, last in handoffs:
            batch.add(hour_of(created), "handoff", str(reason or ""), str(last or ""))
            handoff_offset.last_id = handoff_id
        rating_offset = _offset(session, RATING_SOURCE)
        ratings = session.execute(
            select(HandoffEvent.id, HandoffEvent.at, HandoffEvent.detail)
            .where(HandoffEvent.id > rating_offset.last_id, HandoffEvent.kind == "rated")
            .order_by(HandoffEvent.id).limit(limit)
        ).all()
        for event_id, at, detail in ratings:
            if str(detail or "") in ("1", "2", "3", "4", "5"):
                batch.add(hour_of(at), "rating", str(detail))
            rating_offset.last_id = event_id
        _apply(session, batch)
        return len(handoffs) + len(ratings)


def aggregate_all(sessions: "sessionmaker[Session]", reader: SqlBrokerReader,
                  max_batches: int = 50) -> int:
    """Catch up with everything new (bounded per call); returns rows read."""
    total = 0
    for _ in range(max_batches):
        read = aggregate_broker(sessions, reader)
        total += read
        if read < BATCH_SIZE:
            break
    total += aggregate_support(sessions)
    return total


def prune_samples(sessions: "sessionmaker[Session]", now: datetime) -> None:
    with transaction(sessions) as session:
        session.execute(delete(SignalSample).where(
            SignalSample.hour < now - timedelta(days=SAMPLE_DAYS)))


def rebuild(sessions: "sessionmaker[Session]") -> None:
    """Forget every aggregate; the next run counts everything again from the stores."""
    with transaction(sessions) as session:
        session.execute(delete(SignalCount))
        session.execute(delete(SignalSample))
        session.execute(delete(ConsumerOffset).where(ConsumerOffset.source.in_(SOURCES)))


__all__ = ["Batch", "aggregate_all", "aggregate_broker", "aggregate_support", "classify",
           "faq_topic", "hour_of", "prune_samples", "rebuild"]
