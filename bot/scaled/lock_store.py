"""A Redis lock store whose tickets are issued and returned atomically across Rasa instances.

Rasa's ``RedisLockStore`` keeps a conversation's ticket queue as one JSON value and changes it
by read, modify, write (``issue_ticket``, ``finish_serving``, ``update_lock``, ``cleanup``).
Two instances that receive messages of one customer at the same moment can read the same queue
and both write back "ticket 0": both then work on the same tracker at once and the events of
one of them are lost (seen in ``tests/scaled/test_topology.py``: 5 quick messages answered, 3
missing from the tracker). Here every change runs in a Redis transaction on that key
(``WATCH``/``MULTI``/``EXEC``) and starts again when another instance changed the key first.

Rasa loads it from the endpoints the launcher writes (``lock_store: type:
bot.scaled.lock_store.AtomicRedisLockStore``) when ``LOCK_STORE_REDIS_URL`` is set.
"""

from __future__ import annotations

import json
from typing import Any, Callable, Optional, Tuple, TypeVar

from rasa.core.lock import TicketLock
from rasa.core.lock_store import LOCK_LIFETIME, LockError, RedisLockStore
from rasa.utils.endpoints import EndpointConfig

T = TypeVar("T")
# A changed key restarts the transaction; this many restarts in a row means something is wrong.
MAX_ATTEMPTS = 1000


class AtomicRedisLockStore(RedisLockStore):
    """``RedisLockStore`` with every change of a ticket queue in one Redis transaction."""

    def __init__(self, endpoint_config: Optional[EndpointConfig] = None, **kwargs: Any) -> None:
        if endpoint_config is not None:
            kwargs = {"host": endpoint_config.url or "localhost", **endpoint_config.kwargs}
        super().__init__(**kwargs)

    def _change(
        self, conversation_id: str,
        change: Callable[[Optional[TicketLock]], Tuple[Optional[TicketLock], T]],
    ) -> T:
        """Apply ``change`` to the stored lock atomically; a returned None lock deletes it."""
        from redis.exceptions import WatchError

        key = self.key_prefix + conversation_id
        for _ in range(MAX_ATTEMPTS):
            with self.red.pipeline() as pipe:
                try:
                    pipe.watch(key)
                    raw = pipe.get(key)
                    lock = TicketLock.from_dict(json.loads(raw)) if raw else None
                    changed, result = change(lock)
                    pipe.multi()
                    if changed is None:
                        pipe.delete(key)
                    else:
                        pipe.set(key, changed.dumps())
                    pipe.execute()
                    return result
                except WatchError:
                    continue
        raise LockError(f"the lock of conversation '{conversation_id}' kept changing")

    def issue_ticket(self, conversation_id: str, lock_lifetime: float = LOCK_LIFETIME) -> int:
        def issue(lock: Optional[TicketLock]) -> Tuple[Optional[TicketLock], int]:
            lock = lock or TicketLock(conversation_id)
            return lock, lock.issue_ticket(lock_lifetime)

        try:
            return self._change(conversation_id, issue)
        except LockError:
            raise
        except Exception as error:  # noqa: BLE001 - Rasa's contract: a LockError
            raise LockError(f"Error while acquiring lock. Error:\n{error}") from error

    def update_lock(self, conversation_id: str) -> None:
        def drop_expired(lock: Optional[TicketLock]) -> Tuple[Optional[TicketLock], None]:
            if lock is not None:
                lock.remove_expired_tickets()
            return lock, None

        self._change(conversation_id, drop_expired)

    def finish_serving(self, conversation_id: str, ticket_number: int) -> None:
        def finish(lock: Optional[TicketLock]) -> Tuple[Optional[TicketLock], None]:
            if lock is not None:
                lock.remove_ticket_for(ticket_number)
            return lock, None

        self._change(conversation_id, finish)

    def cleanup(self, conversation_id: str, ticket_number: int) -> None:
        """Return the ticket; delete the lock in the same step when nobody else waits."""

        def finish(lock: Optional[TicketLock]) -> Tuple[Optional[TicketLock], None]:
            if lock is None:
                return None, None
            lock.remove_ticket_for(ticket_number)
            return (lock if lock.is_someone_waiting() else None), None

        self._change(conversation_id, finish)


__all__ = ["AtomicRedisLockStore"]
