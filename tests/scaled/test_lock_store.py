"""The lock store of several Rasa instances (bot.scaled.lock_store) on a real Redis: tickets
are unique and one conversation's messages are handled one at a time, however many instances
(here: threads, each with its own store and connection) ask at the same moment."""

from __future__ import annotations

import asyncio
import threading
from typing import Callable, List
from urllib.parse import urlparse

import redis

from bot.scaled._topology import Infrastructure
from bot.scaled.lock_store import AtomicRedisLockStore

INSTANCES = 8


def _store(infrastructure: Infrastructure) -> AtomicRedisLockStore:
    url = urlparse(infrastructure.redis.url)
    return AtomicRedisLockStore(host=url.hostname, port=url.port, db=3)


def _at_once(target: Callable[[int], None], count: int = INSTANCES) -> None:
    barrier = threading.Barrier(count)
    errors: List[BaseException] = []

    def run(index: int) -> None:
        try:
            barrier.wait()
            target(index)
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert errors == []


def test_tickets_issued_at_the_same_moment_are_all_different(
    infrastructure: Infrastructure,
) -> None:
    """Rasa's own RedisLockStore reads, changes and writes the queue: instances asking at
    once can get the same ticket. 8 instances × 25 tickets here: 200 different numbers."""
    conversation = "ticket-race"
    issued: List[int] = []
    guard = threading.Lock()

    def issue(_index: int) -> None:
        store = _store(infrastructure)
        for _ in range(25):
            ticket = store.issue_ticket(conversation, lock_lifetime=60)
            with guard:
                issued.append(ticket)

    try:
        _at_once(issue)
        assert len(issued) == 200
        assert sorted(issued) == list(range(200))
    finally:
        _store(infrastructure).delete_lock(conversation)


def test_one_conversation_is_handled_by_one_instance_at_a_time(
    infrastructure: Infrastructure,
) -> None:
    """Each holder reads a counter, waits, writes it + 1: with the lock held by one at a time
    no increment is lost, and the lock is gone afterwards."""
    conversation = "one-at-a-time"
    url = urlparse(infrastructure.redis.url)
    counter = redis.Redis(host=url.hostname, port=url.port, db=4)
    counter.set("count", 0)

    def work(_index: int) -> None:
        store = _store(infrastructure)

        async def turns() -> None:
            for _ in range(5):
                async with store.lock(conversation, lock_lifetime=60,
                                      wait_time_in_seconds=0.005):
                    value = int(counter.get("count") or 0)
                    await asyncio.sleep(0.002)
                    counter.set("count", value + 1)

        asyncio.run(turns())

    _at_once(work)
    assert int(counter.get("count") or 0) == INSTANCES * 5
    assert _store(infrastructure).get_lock(conversation) is None
    counter.close()
