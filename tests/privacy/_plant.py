"""Plant a customer in every store: Rasa's own tracker store and SQL event broker classes,
the real support-DB tables through the project's own code, and log lines."""

from __future__ import annotations

import asyncio
import json
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import List, Optional

from bot.answers.feedback import record_answer_rating
from bot.database import make_engine, session_factory, transaction
from bot.handoff import HandoffRequest, handoff
from bot.inbox._models import (
    Agent,
    AgentReply,
    CustomerMessage,
    HandoffEvent,
    HandoffState,
    Note,
)
from bot.inbox._store import InboxStore
from bot.models import SupportBase
from bot.privacy import pseudo
from bot.privacy._logs import set_pseudonym_key
from bot.privacy._stores import Stores, label_fingerprint
from bot.settings import Settings, load_settings
from bot.trainer._labels import LabelStore
from bot.trainer._masking import mask_pii
from channels._store import ChannelStore, MediaItem

PSEUDONYM_KEY = "test-pseudonym-key"


@dataclass
class Customer:
    sender_id: str
    phone: Optional[str]
    texts: List[str]  # what the customer wrote
    note: str
    reply: str


def settings_for(var_dir: Path) -> Settings:
    set_pseudonym_key(PSEUDONYM_KEY)
    return load_settings(
        {"BOT_VAR_DIR": str(var_dir), "RASA_TOKEN": "t", "LOG_PSEUDONYM_KEY": PSEUDONYM_KEY}
    )


def _rasa_conversation(settings: Settings, customer: Customer, when: datetime) -> None:
    from rasa.core.brokers.sql import SQLEventBroker
    from rasa.core.tracker_store import SQLTrackerStore
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    broker = SQLEventBroker(dialect="sqlite", db=str(settings.var_dir / "events.db"))
    store = SQLTrackerStore(
        domain=Domain.empty(), dialect="sqlite", db=str(settings.var_dir / "tracker.db"),
        event_broker=broker,
    )
    stamp = when.replace(tzinfo=timezone.utc).timestamp()
    events = []
    for offset, text in enumerate(customer.texts):
        events += [
            ActionExecuted("action_listen", timestamp=stamp + offset),
            UserUttered(text, {"name": "request_human", "confidence": 0.9},
                        timestamp=stamp + offset),
            BotUttered(f"Danke dir! Antwort {offset}", timestamp=stamp + offset + 0.5),
        ]
    tracker = DialogueStateTracker.from_events(customer.sender_id, events)
    with ThreadPoolExecutor(1) as worker:  # also from inside a test's running event loop
        worker.submit(asyncio.run, store.save(tracker)).result()
    store.engine.dispose()
    broker.engine.dispose()


def plant(settings: Settings, customer: Customer, when: Optional[datetime] = None) -> None:
    """The customer wrote, was handed over, got a reply, sent a photo, was labelled, logged."""
    when = when or datetime.now(timezone.utc).replace(tzinfo=None)
    channel = "whatsapp" if customer.sender_id.startswith("whatsapp:") else "telegram"
    _rasa_conversation(settings, customer, when)
    engine = make_engine(settings.support_db_url)
    SupportBase.metadata.create_all(engine)
    InboxStore.open(settings.support_db_url).close()
    sessions = session_factory(engine)
    with transaction(sessions) as session:
        agent = session.query(Agent).filter_by(name="anna").first()
        if agent is None:
            agent = Agent(name="anna", password_hash="x", is_admin=True, active=True)
            session.add(agent)
            session.flush()
        record = handoff(
            session,
            HandoffRequest(customer.sender_id, channel, "customer_request", 0.9,
                           customer.texts[0], order_number="BP-482913"),
            now=when, outside=False,
        )
        session.flush()
        session.add(HandoffState(handoff_id=record.id, waiting_since=when,
                                 last_customer_at=when))
        session.add(HandoffEvent(handoff_id=record.id, kind="claimed", agent_id=agent.id, at=when))
        session.add(Note(handoff_id=record.id, agent_id=agent.id, text=customer.note,
                         created_at=when))
        session.add(AgentReply(handoff_id=record.id, agent_id=agent.id, text=customer.reply,
                               created_at=when, status="sent"))
        session.add(CustomerMessage(broker_event_id=abs(hash(customer.sender_id)) % 10**9,
                                    handoff_id=record.id, text=customer.texts[-1],
                                    received_at=when))
    channels = ChannelStore(engine)
    channels.ensure_schema()
    channels.claim_inbound(channel, f"SM{abs(hash(customer.sender_id))}", customer.sender_id,
                           json.dumps({"Body": customer.texts[0]}))
    channels.touch_contact(channel, customer.sender_id, now=when)
    channels.record_media(channel, customer.sender_id, "M1",
                          [MediaItem("photo", "https://example.invalid/m.jpg", "image/jpeg")],
                          "Foto vom kaputten Reißverschluss")
    channels.record_delivery(channel, customer.sender_id, status="delivered",
                             text=customer.reply)
    channels.save_choices(channel, customer.sender_id, ["/faq", "/request_human"])
    with transaction(sessions) as session:
        record_answer_rating(session, sender_id=customer.sender_id, topic="faq/shipping_costs",
                             helpful=False, channel=channel, answer_at=when.timestamp(), now=when)
    with transaction(sessions) as session:  # rows of the whole table get the planting time
        for table in ("channel_inbound", "channel_contacts", "channel_media",
                      "channel_deliveries", "channel_choices"):
            columns = [c.name for c in SupportBase.metadata.tables[table].c
                       if c.name.endswith("_at")]
            for column in columns:
                session.execute(
                    SupportBase.metadata.tables[table].update()
                    .where(SupportBase.metadata.tables[table].c.sender_id == customer.sender_id)
                    .values({column: when})
                )
    labels = LabelStore(settings.support_db_url)
    masked = mask_pii(customer.texts[0])
    labels.record([(label_fingerprint(customer.texts[0]), masked)], "example", "request_human",
                  "anna", None)
    labels.close()
    engine.dispose()
    log = logging.getLogger("actions.handoff")
    handler = logging.FileHandler(settings.var_dir / "actions.log", encoding="utf-8")
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    try:
        log.info("handoff %s for %s (%s)", 1, pseudo(customer.sender_id), "customer_request")
    finally:
        log.removeHandler(handler)
        handler.close()
    # A line from before pseudonymisation, as older log files hold them.
    with (settings.var_dir / "rasa.log").open("a", encoding="utf-8") as old:
        old.write(f"2026-01-01 INFO old line: message from {customer.sender_id}: "
                  f"{customer.texts[0]}\n")
        old.write("2026-01-01 INFO rasa.core.processor: unrelated line\n")


def stores(settings: Settings) -> Stores:
    return Stores.from_settings(settings)


def days_ago(days: int) -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None) - timedelta(days=days)
