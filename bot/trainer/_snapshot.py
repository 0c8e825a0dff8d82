"""The review queue, computed off the event loop: grouping every missed message by similarity is
pure-Python CPU work (quadratic in the number of distinct messages), so it runs in a separate
worker process and the latest result is kept. The trainer page shows that snapshot at once
(marked as being refreshed while newer data is grouped) instead of making the customer-facing
event loop, or the GIL it shares with worker threads, wait for it."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, List, Optional, Tuple

from sqlalchemy import inspect, text

from bot.database import make_engine
from bot.trainer._labels import LabelStore
from bot.trainer._project import Project
from bot.trainer._review import Group, ReviewQueue

SourceKey = Tuple[int, int, int, int]
MAX_AGE_SECONDS = 600.0


@dataclass(frozen=True)
class Snapshot:
    """The grouped review queue as of ``key`` (the sources' high-water marks)."""

    groups: List[Group]
    key: SourceKey
    computed_at: float  # time.time()
    seconds: float  # how long the grouping took
    worker_pid: int


_HIGH_WATER = {
    table: text(f"SELECT MAX(id), COUNT(*) FROM {table}")  # noqa: S608 - fixed table names
    for table in ("events", "handoffs", "inbox_replies")
}


def _max_id(engine: Any, table: str) -> Tuple[int, int]:
    if not inspect(engine).has_table(table):
        return 0, 0
    with engine.connect() as connection:
        row = connection.execute(_HIGH_WATER[table]).fetchone()
    return int(row[0] or 0), int(row[1] or 0)


def source_key(tracker_db_url: str, support_db_url: str) -> SourceKey:
    """Cheap high-water marks of everything the queue is built from (two index lookups)."""
    tracker = make_engine(tracker_db_url)
    support = make_engine(support_db_url)
    try:
        events, _ = _max_id(tracker, "events")
        handoffs, handoff_count = _max_id(support, "handoffs")
        replies, _ = _max_id(support, "inbox_replies")
    finally:
        tracker.dispose()
        support.dispose()
    return events, handoffs, handoff_count, replies


def compute(root: str, tracker_db_url: str, support_db_url: str) -> Snapshot:
    """Run in the worker process: read the stores and group (labelled ones left out)."""
    started = time.monotonic()
    key = source_key(tracker_db_url, support_db_url)
    queue = ReviewQueue(Project(Path(root)), tracker_db_url, support_db_url)
    try:
        groups = queue.groups()
    finally:
        queue.close()
    return Snapshot(groups=groups, key=key, computed_at=time.time(),
                    seconds=time.monotonic() - started, worker_pid=os.getpid())


def without_labelled(groups: List[Group], support_db_url: str) -> List[Group]:
    """Drop the messages decided since the snapshot was taken (one small query)."""
    labels = LabelStore(support_db_url)
    try:
        done = labels.fingerprints()
    finally:
        labels.close()
    kept = []
    for group in groups:
        messages = [m for m in group.messages if m.fingerprint not in done]
        if len(messages) == len(group.messages):
            kept.append(group)
        elif messages:
            kept.append(Group(id=group.id, messages=messages, agent_replies=group.agent_replies))
    return kept


class ReviewSnapshots:
    """The latest snapshot and at most one computation in a single worker process."""

    def __init__(self, root: Path, tracker_db_url: str, support_db_url: str) -> None:
        self.root = root
        self.tracker_db_url = tracker_db_url
        self.support_db_url = support_db_url
        self.latest: Optional[Snapshot] = None
        self._executor: Optional[ProcessPoolExecutor] = None
        self._pending: Optional[asyncio.Future[Snapshot]] = None

    def _start(self) -> asyncio.Future[Snapshot]:
        if self._pending is not None and not self._pending.done():
            return self._pending
        if self._executor is None:
            # "spawn": a fresh interpreter, nothing inherited from the server's threads.
            self._executor = ProcessPoolExecutor(
                max_workers=1, mp_context=multiprocessing.get_context("spawn"))
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(self._executor, compute, str(self.root),
                                      self.tracker_db_url, self.support_db_url)
        self._pending = future
        future.add_done_callback(self._keep)
        return future

    def _keep(self, future: "asyncio.Future[Snapshot]") -> None:
        if future.cancelled() or future.exception() is not None:
            return
        result = future.result()
        if self.latest is None or result.computed_at >= self.latest.computed_at:
            self.latest = result

    def _fresh(self, key: SourceKey) -> bool:
        return (self.latest is not None and self.latest.key == key
                and time.time() - self.latest.computed_at < MAX_AGE_SECONDS)

    async def get(self, wait_seconds: float) -> Tuple[Optional[Snapshot], bool]:
        """The snapshot to show and whether a newer one is being computed. Waits up to
        ``wait_seconds`` for a running computation, then returns what there is."""
        key = await asyncio.to_thread(source_key, self.tracker_db_url, self.support_db_url)
        if self._fresh(key):
            return self.latest, False
        future = self._start()
        try:
            await asyncio.wait_for(asyncio.shield(future), wait_seconds)
        except asyncio.TimeoutError:
            pass
        except Exception:  # noqa: BLE001 - shown as "still computing"; the next load retries
            self._pending = None
        return self.latest, not future.done()

    @property
    def busy(self) -> bool:
        """Whether a grouping is running in the worker process right now."""
        return self._pending is not None and not self._pending.done()

    def find(self, group_id: str) -> Optional[Group]:
        if self.latest is None:
            return None
        return next((g for g in self.latest.groups if g.id == group_id), None)

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None
