"""Retention: conversations without activity for ``RETENTION_DAYS`` are deleted everywhere.

The inbox process runs :func:`run_retention` as a background task: the purge itself runs in a
worker thread (``asyncio.to_thread``), so the inbox's event loop never waits for it.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Callable, Dict, List, Optional

from sqlalchemy import DateTime, func, select, text

from bot.privacy._stores import (
    CHUNK,
    HANDOFF_TABLES,
    SENDER_TABLES,
    Stores,
    delete_senders,
    has_table,
    open_engine,
    support_tables,
)

logger = logging.getLogger(__name__)

DAY = 24 * 3600.0


def _utc(stamp: float) -> Optional[datetime]:
    try:
        return datetime.fromtimestamp(float(stamp), tz=timezone.utc).replace(tzinfo=None)
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def _later(activity: Dict[str, datetime], sender: object, moment: object) -> None:
    if sender is None:
        return
    key = str(sender)
    stamp = datetime.min
    if isinstance(moment, datetime):
        stamp = (
            moment
            if moment.tzinfo is None
            else (moment.astimezone(timezone.utc).replace(tzinfo=None))
        )
    if key not in activity or stamp > activity[key]:
        activity[key] = stamp


def last_activity(stores: Stores) -> Dict[str, datetime]:
    """The latest moment anything happened for each sender id in any store (naive UTC;
    ``datetime.min`` if a sender's rows carry no time at all)."""
    activity: Dict[str, datetime] = {}
    engine = open_engine(stores.tracker_url)
    if engine is not None:
        try:
            with engine.connect() as connection:
                if has_table(connection, "events"):
                    for sender, stamp in connection.execute(
                        text("SELECT sender_id, MAX(timestamp) FROM events GROUP BY sender_id")
                    ):
                        _later(activity, sender, _utc(stamp))
        finally:
            engine.dispose()
    known = set(activity)
    engine = open_engine(stores.broker_url)
    if engine is not None:
        try:
            with engine.connect() as connection:
                if has_table(connection, "events"):
                    latest = connection.execute(
                        text("SELECT sender_id, MAX(id) FROM events GROUP BY sender_id")
                    ).all()
                    for sender, row_id in latest:
                        if sender in known:
                            continue  # the tracker holds the same events
                        data = connection.execute(
                            text("SELECT data FROM events WHERE id = :id"), {"id": row_id}
                        ).scalar()
                        try:
                            stamp = json.loads(data or "{}").get("timestamp")
                        except (ValueError, AttributeError):
                            stamp = None
                        _later(activity, sender, _utc(stamp) if stamp is not None else None)
        finally:
            engine.dispose()
    engine = open_engine(stores.support_url)
    if engine is not None:
        try:
            with engine.connect() as connection:
                tables = support_tables()
                handoffs = tables["handoffs"]
                for name in SENDER_TABLES + HANDOFF_TABLES:
                    if not has_table(connection, name):
                        continue
                    table = tables[name]
                    times = [c for c in table.c if isinstance(c.type, DateTime)]
                    if not times:
                        continue
                    if name in SENDER_TABLES:
                        sender_column, source = table.c.sender_id, table
                    else:
                        sender_column = handoffs.c.sender_id
                        source = table.join(handoffs, table.c.handoff_id == handoffs.c.id)
                    query = (
                        select(sender_column, *[func.max(c) for c in times])
                        .select_from(source)
                        .group_by(sender_column)
                    )
                    for sender, *moments in connection.execute(query):
                        for moment in moments:
                            _later(activity, sender, moment)
        finally:
            engine.dispose()
    return activity


@dataclass
class PurgeResult:
    cutoff: datetime
    senders: List[str] = field(default_factory=list)
    counts: Dict[str, int] = field(default_factory=dict)


def purge(
    stores: Stores, days: int, now: Optional[datetime] = None, dry_run: bool = False
) -> PurgeResult:
    """Delete every customer whose last activity is more than ``days`` days before ``now``."""
    if days <= 0:
        raise ValueError("days must be positive (0 = keep forever is the caller's decision)")
    moment = now or datetime.now(timezone.utc).replace(tzinfo=None)
    result = PurgeResult(cutoff=moment - timedelta(days=days))
    result.senders = sorted(
        sender for sender, last in last_activity(stores).items() if last < result.cutoff
    )
    for start in range(0, len(result.senders), CHUNK):
        counts = delete_senders(stores, result.senders[start : start + CHUNK], dry_run)
        for store, count in counts.items():
            result.counts[store] = result.counts.get(store, 0) + count
    return result


async def run_retention(
    stores: Stores,
    days: int,
    *,
    interval: float = DAY,
    first_delay: float = 60.0,
    clock: Optional[Callable[[], datetime]] = None,
) -> None:
    """Purge once a day (first ``first_delay`` seconds after start), off the event loop."""
    await asyncio.sleep(first_delay)
    while True:
        try:
            now = clock() if clock is not None else None
            result = await asyncio.to_thread(purge, stores, days, now)
            logger.info(
                "retention: %d conversation(s) older than %d days deleted (%d rows/lines)",
                len(result.senders),
                days,
                sum(result.counts.values()),
            )
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("retention purge failed; retrying in %.0f s", interval)
        await asyncio.sleep(interval)


__all__ = ["PurgeResult", "last_activity", "purge", "run_retention"]
