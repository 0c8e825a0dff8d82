""""Did it help?": the customer's 👍/👎 on a bot FAQ answer, stored per topic.

After an FAQ answer the bot offers two buttons (web chat, Telegram, REST) or asks for a typed
"ja"/"nein" (WhatsApp) – see :mod:`bot.answers.nlg` (the offer) and ``actions/answer_rating.py``
(recording it). At most one rating per conversation (Rasa session): the ``answer_rating`` slot
holds it, ``{"topic": "faq/<topic>", "helpful": true|false, "channel": "..."}``, so the event
broker carries every rating as a ``slot`` event, and the support table ``answer_ratings`` keeps
one row per rating for the trainers' review queue (:func:`helpfulness`, weakest answers first).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Dict, Iterable, List, Optional, Sequence

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Float,
    Integer,
    String,
    UniqueConstraint,
    func,
    select,
)
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from bot.database import make_engine, session_factory, transaction
from bot.models import SupportBase, utcnow

# The slot that holds the conversation's rating (domain.yml; also the tracker/broker event).
RATING_SLOT = "answer_rating"
# Intents of the two buttons (also recognised when typed: "hat geholfen", "hat nicht geholfen").
HELPFUL_INTENT = "answer_helpful"
UNHELPFUL_INTENT = "answer_unhelpful"
HELPFUL_BUTTON = {"title": "👍 Hat geholfen", "payload": f"/{HELPFUL_INTENT}"}
UNHELPFUL_BUTTON = {"title": "👎 Nicht wirklich", "payload": f"/{UNHELPFUL_INTENT}"}
RATING_BUTTONS = (HELPFUL_BUTTON, UNHELPFUL_BUTTON)
# Channels without buttons in this project get the question as a line of text instead.
TYPED_CHANNELS = frozenset({"whatsapp"})
TYPED_QUESTION = "Hat dir das geholfen? Antworte einfach mit ja oder nein."
# Key in the FAQ answer's bot event metadata: the topic whose rating the message asks for.
OFFER_KEY = "answer_rating_offer"
FAQ_PREFIX = "faq/"
# The review queue shows a helpful share only from this many ratings on.
MIN_RATINGS = 5
WILSON_Z = 1.96  # 95 %


class AnswerRating(SupportBase):
    """One customer's 👍/👎 on one bot FAQ answer."""

    __tablename__ = "answer_ratings"
    __table_args__ = (UniqueConstraint("sender_id", "answer_at", name="uq_answer_rating"),)

    id = Column(Integer, primary_key=True)
    sender_id = Column(String(255), nullable=False, index=True)
    topic = Column(String(128), nullable=False, index=True)  # retrieval intent: faq/<topic>
    helpful = Column(Boolean, nullable=False)
    channel = Column(String(64), nullable=False)
    # Rasa timestamp of the rated answer message: a repeated action run stores nothing twice.
    answer_at = Column(Float, nullable=False)
    created_at = Column(DateTime, nullable=False, default=utcnow, index=True)


def ensure_table(engine: Engine) -> None:
    from bot.migrations import SUPPORT, ensure_schema

    ensure_schema(engine, SUPPORT)


def record_answer_rating(
    session: Session,
    *,
    sender_id: str,
    topic: str,
    helpful: bool,
    channel: str,
    answer_at: float,
    now: Optional[datetime] = None,
) -> bool:
    """Store one rating; False if this answer was rated already (nothing stored)."""
    if not topic.startswith(FAQ_PREFIX) or len(topic) > 128:
        raise ValueError(f"not a FAQ topic: {topic!r}")
    already = session.execute(
        select(AnswerRating.id)
        .where(AnswerRating.sender_id == sender_id[:255])
        .where(AnswerRating.answer_at == float(answer_at))
    ).first()
    if already is not None:
        return False
    session.add(
        AnswerRating(
            sender_id=sender_id[:255],
            topic=topic,
            helpful=bool(helpful),
            channel=(channel or "unknown")[:64],
            answer_at=float(answer_at),
            created_at=now or utcnow(),
        )
    )
    return True


def wilson_bounds(positive: int, total: int, z: float = WILSON_Z) -> tuple[float, float]:
    """The Wilson score interval of the share ``positive / total`` (0..1 each)."""
    if total <= 0:
        return 0.0, 1.0
    share = positive / total
    denominator = 1 + z * z / total
    centre = share + z * z / (2 * total)
    spread = z * math.sqrt(share * (1 - share) / total + z * z / (4 * total * total))
    return (
        max(0.0, (centre - spread) / denominator),
        min(1.0, (centre + spread) / denominator),
    )


@dataclass(frozen=True)
class TopicHelpfulness:
    """The ratings of one FAQ topic."""

    topic: str
    helpful: int
    unhelpful: int

    @property
    def total(self) -> int:
        return self.helpful + self.unhelpful

    @property
    def share(self) -> float:
        return self.helpful / self.total if self.total else 0.0

    @property
    def enough(self) -> bool:
        return self.total >= MIN_RATINGS

    @property
    def upper_bound(self) -> float:
        """The most helpful the answer plausibly is (Wilson, 95 %): low = surely weak."""
        return wilson_bounds(self.helpful, self.total)[1]

    @property
    def lower_bound(self) -> float:
        return wilson_bounds(self.helpful, self.total)[0]


def weakest_first(rows: Iterable[TopicHelpfulness]) -> List[TopicHelpfulness]:
    """Topics with at least :data:`MIN_RATINGS` ratings, the surely weakest first (lowest
    Wilson upper bound: many 👎 beat one 👎), then those with fewer ratings (most 👎 first)."""
    rows = list(rows)
    rated = sorted(
        (r for r in rows if r.enough), key=lambda r: (r.upper_bound, -r.total, r.topic)
    )
    few = sorted(
        (r for r in rows if not r.enough), key=lambda r: (-r.unhelpful, r.share, r.topic)
    )
    return rated + few


def helpfulness(
    session: Session, since: Optional[datetime] = None
) -> List[TopicHelpfulness]:
    """Per-topic 👍/👎 counts (optionally only ratings from ``since`` on), weakest first."""
    helpful_sum = func.sum(func.cast(AnswerRating.helpful, Integer))
    query = select(AnswerRating.topic, helpful_sum, func.count(AnswerRating.id)).group_by(
        AnswerRating.topic
    )
    if since is not None:
        query = query.where(AnswerRating.created_at >= since)
    rows = [
        TopicHelpfulness(topic=str(topic), helpful=int(good or 0),
                         unhelpful=int(count) - int(good or 0))
        for topic, good, count in session.execute(query)
    ]
    return weakest_first(rows)


def read_helpfulness(url: str, since: Optional[datetime] = None) -> List[TopicHelpfulness]:
    """:func:`helpfulness` of the support database at ``url`` (blocking; creates the table if
    the database has none yet)."""
    engine = make_engine(url)
    try:
        ensure_table(engine)
        with transaction(session_factory(engine)) as session:
            return helpfulness(session, since)
    finally:
        engine.dispose()


def helpfulness_by_topic(rows: Sequence[TopicHelpfulness]) -> Dict[str, TopicHelpfulness]:
    """``topic id`` (without ``faq/``) -> its ratings."""
    return {row.topic[len(FAQ_PREFIX):]: row for row in rows if row.topic.startswith(FAQ_PREFIX)}


__all__ = [
    "HELPFUL_BUTTON",
    "HELPFUL_INTENT",
    "MIN_RATINGS",
    "OFFER_KEY",
    "RATING_BUTTONS",
    "RATING_SLOT",
    "TYPED_CHANNELS",
    "TYPED_QUESTION",
    "UNHELPFUL_BUTTON",
    "UNHELPFUL_INTENT",
    "AnswerRating",
    "TopicHelpfulness",
    "ensure_table",
    "helpfulness",
    "helpfulness_by_topic",
    "read_helpfulness",
    "record_answer_rating",
    "weakest_first",
    "wilson_bounds",
]
