"""The support-database table of answer edits: who changed which FAQ answer when, and undo."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Dict, List, Optional

from sqlalchemy import Column, DateTime, Integer, String, Text, func, select, update
from sqlalchemy.engine import Engine

from bot.database import make_engine, session_factory, transaction
from bot.models import SupportBase, utcnow


class AnswerEdit(SupportBase):
    """One live edit of ``utter_faq/<topic>``. The newest row of a topic that is not undone is
    the answer customers get; with none, domain.yml's answer applies."""

    __tablename__ = "faq_answer_edits"

    id = Column(Integer, primary_key=True)
    topic = Column(String(64), nullable=False, index=True)
    text = Column(Text, nullable=False)
    author = Column(String(255), nullable=False)
    created_at = Column(DateTime, nullable=False, default=utcnow)
    undone_at = Column(DateTime, nullable=True)
    undone_by = Column(String(255), nullable=True)


@dataclass(frozen=True)
class Version:
    id: int
    topic: str
    text: str
    author: str
    created_at: datetime
    undone_at: Optional[datetime]
    undone_by: Optional[str]

    @classmethod
    def of(cls, row: AnswerEdit) -> "Version":
        return cls(row.id, row.topic, row.text, row.author, row.created_at, row.undone_at,
                   row.undone_by)


class AnswerStore:
    """Reads and writes answer edits (blocking: call from a thread in async code)."""

    def __init__(self, engine: Engine) -> None:
        from bot.migrations import SUPPORT, ensure_schema

        ensure_schema(engine, SUPPORT)
        self.engine = engine
        self._sessions = session_factory(engine)

    @classmethod
    def open(cls, url: str) -> "AnswerStore":
        return cls(make_engine(url))

    def close(self) -> None:
        self.engine.dispose()

    def current(self) -> Dict[str, Version]:
        """The live edit of every topic that has one."""
        newest = (
            select(func.max(AnswerEdit.id))
            .where(AnswerEdit.undone_at.is_(None))
            .group_by(AnswerEdit.topic)
        )
        with self._sessions() as session:
            rows = session.execute(select(AnswerEdit).where(AnswerEdit.id.in_(newest))).scalars()
            return {row.topic: Version.of(row) for row in rows}

    def current_texts(self) -> Dict[str, str]:
        return {topic: version.text for topic, version in self.current().items()}

    def live(self, topic: str) -> Optional[Version]:
        with self._sessions() as session:
            row = session.execute(
                select(AnswerEdit)
                .where(AnswerEdit.topic == topic, AnswerEdit.undone_at.is_(None))
                .order_by(AnswerEdit.id.desc())
                .limit(1)
            ).scalar_one_or_none()
            return Version.of(row) if row is not None else None

    def history(self, topic: str) -> List[Version]:
        """All edits of ``topic``, newest first (undone ones too)."""
        with self._sessions() as session:
            rows = session.execute(
                select(AnswerEdit).where(AnswerEdit.topic == topic).order_by(AnswerEdit.id.desc())
            ).scalars()
            return [Version.of(row) for row in rows]

    def all_history(self) -> Dict[str, List[Version]]:
        """Every topic's edits, newest first."""
        grouped: Dict[str, List[Version]] = {}
        with self._sessions() as session:
            for row in session.execute(
                select(AnswerEdit).order_by(AnswerEdit.id.desc())
            ).scalars():
                grouped.setdefault(row.topic, []).append(Version.of(row))
        return grouped

    def record(self, topic: str, text: str, author: str) -> Version:
        with transaction(self._sessions) as session:
            row = AnswerEdit(topic=topic, text=text, author=author, created_at=utcnow())
            session.add(row)
            session.flush()
            return Version.of(row)

    def undo(self, topic: str, author: str, expected: int) -> bool:
        """Mark edit ``expected`` undone if it is still the live one (False if someone else
        changed the topic meanwhile)."""
        with transaction(self._sessions) as session:
            live = session.execute(
                select(func.max(AnswerEdit.id))
                .where(AnswerEdit.topic == topic, AnswerEdit.undone_at.is_(None))
            ).scalar_one_or_none()
            if live != expected:
                return False
            done = session.execute(
                update(AnswerEdit)
                .where(AnswerEdit.id == expected, AnswerEdit.undone_at.is_(None))
                .values(undone_at=utcnow(), undone_by=author)
            )
            return bool(done.rowcount == 1)
