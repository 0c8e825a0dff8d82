"""The insights worker: aggregate new events, test for spikes, deliver alerts.

Runs inside the inbox process as a background task; every step is blocking SQL/SMTP/HTTP work
and runs in a worker thread (``asyncio.to_thread``), never on the event loop serving agents and
the web chat. Rasa (which serves the customers) is a separate process and never waits for it.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Callable, List, Optional

from sqlalchemy.orm import Session, sessionmaker

from bot._background import worth_logging
from bot.database import make_engine, session_factory, transaction
from bot.inbox import _models as _inbox_models  # noqa: F401 - offsets and handoff events
from bot.inbox._broker import SqlBrokerReader
from bot.insights import _models  # noqa: F401 - registers the insight tables
from bot.insights._alerts import DeliveryResult, deliver_due, record_spikes
from bot.insights._detect import Thresholds, detect
from bot.insights._models import Alert
from bot.insights._signals import aggregate_all, hour_of, prune_samples
from bot.migrations import SUPPORT, ensure_schema
from bot.models import utcnow
from bot.settings import Settings

logger = logging.getLogger(__name__)


def broker_url(settings: Settings) -> str:
    """Where Rasa's SQL event broker writes (the launcher's rule, as in the inbox)."""
    return settings.event_broker_db_url or f"sqlite:///{settings.var_dir / 'events.db'}"


def thresholds(settings: Settings) -> Thresholds:
    alerts = settings.alerts
    return Thresholds(alpha=alerts.alpha, min_count=alerts.min_count,
                      min_ratio=alerts.min_ratio)


@dataclass
class Insights:
    """Everything one tick needs (its own engines; blocking methods)."""

    settings: Settings
    sessions: "sessionmaker[Session]"
    reader: SqlBrokerReader

    @classmethod
    def open(cls, settings: Settings) -> "Insights":
        engine = make_engine(settings.support_db_url)
        ensure_schema(engine, SUPPORT)
        return cls(settings, session_factory(engine), SqlBrokerReader(broker_url(settings)))

    def close(self) -> None:
        self.reader.close()
        bind = self.sessions.kw.get("bind")
        if bind is not None:
            bind.dispose()

    def aggregate(self) -> int:
        return aggregate_all(self.sessions, self.reader)

    def check(self, now: datetime) -> List[Alert]:
        """Test the hour of ``now`` (UTC) and record new alerts."""
        with transaction(self.sessions) as session:
            spikes = detect(session, hour_of(now), thresholds(self.settings))
            return record_spikes(session, spikes, self.settings, now)

    def deliver(self, now: datetime) -> DeliveryResult:
        return deliver_due(self.sessions, self.settings, now)

    def tick(self, now: datetime) -> List[Alert]:
        self.aggregate()
        alerts = self.check(now)
        self.deliver(now)
        return alerts


async def run_insights(settings: Settings, clock: Callable[[], datetime] = utcnow,
                       interval: Optional[float] = None) -> None:
    """Tick forever (cancel the task to stop); failures are logged and retried."""
    insights = await asyncio.to_thread(Insights.open, settings)
    pause = float(interval or settings.alerts.interval_seconds)
    failures = 0
    ticks = 0
    try:
        while True:
            try:
                await asyncio.to_thread(insights.tick, clock())
                if ticks % 1440 == 0:
                    await asyncio.to_thread(prune_samples, insights.sessions, clock())
                ticks += 1
                failures = 0
            except asyncio.CancelledError:
                raise
            except Exception:
                failures += 1
                if worth_logging(failures):
                    logger.exception("insights worker failed (%s times in a row)", failures)
            await asyncio.sleep(pause)
    finally:
        insights.close()


__all__ = ["Insights", "broker_url", "run_insights", "thresholds"]
