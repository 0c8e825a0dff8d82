"""The support database for the inbox: schema migrated on start, work run off the event loop."""

from __future__ import annotations

import asyncio
from typing import Callable, TypeVar

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.database import make_engine, session_factory, transaction
from bot.inbox import _models  # noqa: F401 - registers the inbox tables on SupportBase
from bot.migrations import SUPPORT, ensure_schema

T = TypeVar("T")


class InboxStore:
    """Engine + session factory; :meth:`run` executes a unit of work in a worker thread."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.sessions: "sessionmaker[Session]" = session_factory(engine)

    @classmethod
    def open(cls, url: str) -> "InboxStore":
        engine = make_engine(url)
        ensure_schema(url, SUPPORT)
        return cls(engine)

    def call(self, work: Callable[[Session], T]) -> T:
        """Run ``work`` in one transaction (commit on success, roll back on error)."""
        with transaction(self.sessions) as session:
            return work(session)

    async def run(self, work: Callable[[Session], T]) -> T:
        return await asyncio.to_thread(self.call, work)

    def close(self) -> None:
        self.engine.dispose()
