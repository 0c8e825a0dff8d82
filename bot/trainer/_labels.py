"""Trainers' decisions on review-queue messages (table ``trainer_labels`` in the support DB)."""

from __future__ import annotations

from typing import Iterable, Set

from sqlalchemy import Column, DateTime, Integer, String, Text, select
from sqlalchemy.engine import Engine

from bot.database import make_engine, session_factory, transaction
from bot.migrations import SUPPORT, ensure_schema
from bot.models import SupportBase, utcnow

DECISIONS = ("example", "new", "out_of_scope", "ignore")


class TrainerLabel(SupportBase):
    """One reviewed message: what the trainer decided, stored masked (no personal data)."""

    __tablename__ = "trainer_labels"

    id = Column(Integer, primary_key=True)
    fingerprint = Column(String(64), nullable=False, index=True)  # normalised masked text
    masked_text = Column(Text, nullable=False)
    decision = Column(String(16), nullable=False)
    label = Column(String(128), nullable=True)  # intent or faq/<topic>; None for "ignore"
    labelled_by = Column(String(64), nullable=False, default="")
    labelled_at = Column(DateTime, nullable=False, default=utcnow)
    written_to = Column(String(255), nullable=True)


class LabelStore:
    def __init__(self, url: str) -> None:
        self.engine: Engine = make_engine(url)
        ensure_schema(self.engine, SUPPORT)
        self.sessions = session_factory(self.engine)

    def fingerprints(self) -> Set[str]:
        with self.sessions() as session:
            return set(session.execute(select(TrainerLabel.fingerprint)).scalars())

    def record(
        self,
        items: Iterable[tuple[str, str]],  # (fingerprint, masked text)
        decision: str,
        label: str | None,
        by: str,
        written_to: str | None,
    ) -> int:
        if decision not in DECISIONS:
            raise ValueError(decision)
        count = 0
        with transaction(self.sessions) as session:
            for fingerprint, text in items:
                session.add(TrainerLabel(
                    fingerprint=fingerprint, masked_text=text, decision=decision, label=label,
                    labelled_by=by, written_to=written_to,
                ))
                count += 1
        return count

    def recent(self, limit: int = 20) -> list[TrainerLabel]:
        with self.sessions() as session:
            return list(session.execute(
                select(TrainerLabel).order_by(TrainerLabel.id.desc()).limit(limit)
            ).scalars())

    def close(self) -> None:
        self.engine.dispose()
