"""Generated history for the insights tests: the demo scenario written as Rasa's event-broker
rows (the shape Rasa's SQLEventBroker stores) and support-DB handoffs, into real databases."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Dict, List, Optional

from sqlalchemy import create_engine, text

from bot.database import make_engine, session_factory, transaction
from bot.inbox import _models  # noqa: F401 - registers inbox tables
from bot.insights import _models as _insight_models  # noqa: F401
from bot.insights._scenario import Conversation
from bot.models import Handoff, SupportBase
from bot.settings import Settings, load_settings


def settings_for(tmp: Path, **env: str) -> Settings:
    return load_settings({"BOT_VAR_DIR": str(tmp), **env})


def _stamp(moment: datetime) -> float:
    return moment.replace(tzinfo=timezone.utc).timestamp()


def _user(text_: str, at: datetime, intent: str, topic: str = "") -> Dict[str, Any]:
    parse: Dict[str, Any] = {"intent": {"name": intent, "confidence": 0.9}, "text": text_}
    if topic:
        parse["response_selector"] = {"faq": {"response": {
            "intent_response_key": f"faq/{topic}", "confidence": 0.9}}}
    return {"event": "user", "timestamp": _stamp(at), "text": text_, "parse_data": parse}


INTENTS = {"faq": "faq", "order": "order_status", "complaint": "complaint",
           "human": "request_human", "unanswered": "nlu_fallback", "greet": "greet"}
REASONS = {"complaint": "complaint", "human": "customer_request"}


def write_history(settings: Settings, conversations: List[Conversation],
                  until: Optional[datetime] = None, first_sender: int = 0) -> int:
    """Broker rows + handoffs for every conversation starting before ``until``."""
    engine = create_engine(f"sqlite:///{settings.var_dir / 'events.db'}", future=True)
    support = make_engine(settings.support_db_url)
    SupportBase.metadata.create_all(support)
    rows: List[Dict[str, Any]] = []
    handoffs: List[Handoff] = []
    number = first_sender
    for conversation in conversations:
        if until is not None and conversation.start >= until:
            continue
        number += 1
        sender = f"gen-{number}"
        at = conversation.start

        def add(event: Dict[str, Any], sender: str = sender) -> None:
            rows.append({"sender_id": sender, "data": json.dumps(event)})

        add({"event": "session_started", "timestamp": _stamp(at)})
        for index, message in enumerate(conversation.messages):
            moment = at + timedelta(seconds=20 * index)
            intent = INTENTS[conversation.kind] if index == 0 else "inform"
            add(_user(message, moment, intent, conversation.topic if index == 0 else ""))
            if conversation.kind == "unanswered":
                add({"event": "bot", "timestamp": _stamp(moment), "text": "?",
                     "metadata": {"utter_action": "utter_ask_back"}})
        if conversation.kind == "order":
            add({"event": "action", "name": "action_order_status",
                 "timestamp": _stamp(at + timedelta(seconds=50))})
        if conversation.kind in REASONS:
            handoffs.append(Handoff(sender_id=sender, channel="rest", created_at=at,
                                    reason=REASONS[conversation.kind],
                                    last_message=conversation.messages[-1], status="open"))
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE IF NOT EXISTS events (id INTEGER NOT NULL, "
                                "sender_id VARCHAR(255), data TEXT, PRIMARY KEY (id))"))
        if rows:
            connection.execute(text("INSERT INTO events (sender_id, data) "
                                    "VALUES (:sender_id, :data)"), rows)
    with transaction(session_factory(support)) as session:
        session.add_all(handoffs)
    engine.dispose()
    support.dispose()
    return len(rows)
