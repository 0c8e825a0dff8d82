"""What the bot did over a period, for the overview: conversations, how many ended without a
person (automation rate), top topics, ask-back and handoff rates by reason, and per-agent
figures. Read from Rasa's SQL tracker store (table ``events``) and the support DB; called in a
worker thread (mostly SQL aggregates; one JSON parse per FAQ message of the period)."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from statistics import mean, median
from typing import Any, Dict, List, Optional, Tuple

from sqlalchemy import inspect, select, text

from bot.database import make_engine, session_factory
from bot.inbox._models import Agent
from bot.models import Handoff, HandoffStatus

PERIODS = {"7": 7, "14": 14, "30": 30, "90": 90}


@dataclass
class AgentFigures:
    name: str
    handled: int = 0
    resolved: int = 0
    first_reply_minutes: Optional[float] = None
    csat: Optional[float] = None
    ratings: int = 0


@dataclass
class BotFigures:
    conversations: int = 0
    handed_over: int = 0
    user_messages: int = 0
    ask_backs: int = 0
    topics: List[Tuple[str, int]] = field(default_factory=list)  # (label, messages)
    handoffs_by_reason: List[Tuple[str, int]] = field(default_factory=list)
    agents: List[AgentFigures] = field(default_factory=list)

    @property
    def automation_rate(self) -> Optional[float]:
        """Share of conversations finished without a person."""
        if not self.conversations:
            return None
        return max(0.0, 1 - self.handed_over / self.conversations)

    @property
    def ask_back_rate(self) -> Optional[float]:
        return self.ask_backs / self.user_messages if self.user_messages else None

    def handoff_rate(self, count: int) -> Optional[float]:
        return count / self.conversations if self.conversations else None


def _epoch(moment: datetime) -> float:
    return moment.replace(tzinfo=timezone.utc).timestamp()


def _faq_topic(raw: Optional[str]) -> str:
    try:
        parse = (json.loads(raw or "{}").get("parse_data") or {})
        ranking = ((parse.get("response_selector") or {}).get("faq") or {}).get("ranking") or []
        return str(ranking[0].get("intent_response_key") or "faq") if ranking else "faq"
    except (ValueError, AttributeError, TypeError):
        return "faq"


def _tracker(url: str, start: datetime, end: datetime, figures: BotFigures) -> set[str]:
    engine = make_engine(url)
    senders: set[str] = set()
    try:
        if not inspect(engine).has_table("events"):
            return senders
        window = {"start": _epoch(start), "end": _epoch(end)}
        with engine.connect() as connection:
            topics: Counter = Counter()
            for sender, intent, raw in connection.execute(text(
                "SELECT sender_id, intent_name, "
                "CASE WHEN intent_name = 'faq' THEN data END FROM events "
                "WHERE type_name = 'user' AND timestamp >= :start AND timestamp < :end"
            ), window):
                senders.add(sender)
                figures.user_messages += 1
                if intent == "faq":
                    topics[_faq_topic(raw)] += 1
                elif intent and intent not in ("nlu_fallback",):
                    topics[str(intent)] += 1
            figures.ask_backs = int(connection.execute(text(
                "SELECT COUNT(*) FROM events WHERE type_name = 'action' AND "
                "action_name = 'action_handle_fallback' AND timestamp >= :start "
                "AND timestamp < :end"
            ), window).scalar_one())
        figures.topics = topics.most_common(8)
    finally:
        engine.dispose()
    return senders


def _support(url: str, start: datetime, end: datetime, figures: BotFigures) -> set[str]:
    engine = make_engine(url)
    try:
        with session_factory(engine)() as session:
            handoffs = session.execute(
                select(Handoff).where(Handoff.created_at >= start, Handoff.created_at < end)
            ).scalars().all()
            names = {a.id: a.name for a in session.execute(select(Agent)).scalars()}
    finally:
        engine.dispose()
    figures.handoffs_by_reason = Counter(h.reason for h in handoffs).most_common()
    per_agent: Dict[int, List[Any]] = {}
    for handoff in handoffs:
        if handoff.assigned_to is not None:
            per_agent.setdefault(handoff.assigned_to, []).append(handoff)
    for agent_id, items in sorted(per_agent.items(), key=lambda i: names.get(i[0], "")):
        waits = [(h.first_reply_at - h.created_at).total_seconds() / 60 for h in items
                 if h.first_reply_at is not None]
        ratings = [int(h.rating) for h in items if h.rating is not None]
        figures.agents.append(AgentFigures(
            name=names.get(agent_id, "?"), handled=len(items),
            resolved=sum(1 for h in items if h.status == HandoffStatus.RESOLVED),
            first_reply_minutes=round(median(waits), 1) if waits else None,
            csat=round(mean(ratings), 2) if ratings else None, ratings=len(ratings),
        ))
    return {h.sender_id for h in handoffs}


def bot_figures(tracker_db_url: str, support_db_url: str, start: datetime,
                end: datetime) -> BotFigures:
    """Figures for [start, end) (naive UTC)."""
    figures = BotFigures()
    talked = _tracker(tracker_db_url, start, end, figures)
    handed = _support(support_db_url, start, end, figures)
    figures.conversations = len(talked | handed)
    figures.handed_over = len(handed)
    return figures
