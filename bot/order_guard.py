"""Failed order lookups counted per order number across all conversations, and the lock they cause.

The per-conversation limit of the order form is no protection on its own: a new sender id per
guess starts a fresh conversation. So every failed lookup (wrong postcode *or* unknown number –
both read the same to the customer) is counted on the order number in the support database
(``order_lookup_guards``). After ``max_failures`` failures within ``window`` the number is locked
for ``lock``: while locked, even the right postcode reveals nothing and the bot hands over.

Check, lookup and record run in one transaction that starts with a write on the number's row
(SQLite: the database write lock; PostgreSQL: the row lock of ``SELECT … FOR UPDATE``), so two
action-server processes cannot both slip a guess past the limit.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Optional

from sqlalchemy import Column, DateTime, Integer, String, delete, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from bot.database import insert_if_missing, transaction
from bot.models import SupportBase
from bot.shop import OrderStatus, find_order

logger = logging.getLogger(__name__)

FOUND = "found"
NOT_FOUND = "not_found"
LOCKED = "locked"


class OrderLookupGuard(SupportBase):
    """Failed lookups of one order number (existing or not) and its lock, if any."""

    __tablename__ = "order_lookup_guards"

    order_number = Column(String(32), primary_key=True)
    failures = Column(Integer, nullable=False, default=0)
    window_started_at = Column(DateTime, nullable=False)
    last_failure_at = Column(DateTime, nullable=True)
    locked_until = Column(DateTime, nullable=True)
    # When the row no longer matters (window over and not locked): pruned after that.
    expires_at = Column(DateTime, nullable=False, index=True)


@dataclass(frozen=True)
class LookupPolicy:
    max_failures: int = 5
    window: timedelta = timedelta(hours=1)
    lock: timedelta = timedelta(hours=24)


@dataclass(frozen=True)
class LookupResult:
    outcome: str  # FOUND, NOT_FOUND or LOCKED
    order: Optional[OrderStatus] = None
    locked_until: Optional[datetime] = None

    @property
    def found(self) -> bool:
        return self.outcome == FOUND

    @property
    def locked(self) -> bool:
        return self.outcome == LOCKED


def _naive_utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(timezone.utc).replace(tzinfo=None)


def _insert_if_missing(session: Session, number: str, now: datetime, policy: LookupPolicy) -> None:
    """Create the number's row unless it exists; as a write it takes the lock first."""
    values = {
        "order_number": number,
        "failures": 0,
        "window_started_at": now,
        "expires_at": now + policy.window,
    }
    insert_if_missing(session, OrderLookupGuard, values, "order_number")


def _lock_row(
    session: Session, number: str, now: datetime, policy: LookupPolicy
) -> OrderLookupGuard:
    _insert_if_missing(session, number, now, policy)
    guard: OrderLookupGuard = session.execute(
        select(OrderLookupGuard)
        .where(OrderLookupGuard.order_number == number)
        .with_for_update()
    ).scalar_one()
    return guard


def _record_failure(guard: OrderLookupGuard, now: datetime, policy: LookupPolicy) -> bool:
    """Count one failure; True if it locks the number."""
    if now - guard.window_started_at >= policy.window:
        guard.failures = 0
        guard.window_started_at = now
    guard.failures += 1
    guard.last_failure_at = now
    guard.expires_at = guard.window_started_at + policy.window
    if guard.failures < policy.max_failures:
        return False
    guard.locked_until = now + policy.lock
    # After the lock the count starts afresh.
    guard.failures = 0
    guard.window_started_at = guard.locked_until
    guard.expires_at = guard.locked_until + policy.window
    return True


def guarded_lookup(
    support: "sessionmaker[Session]",
    shop: "sessionmaker[Session]",
    number: str,
    postal_code: str,
    *,
    now: datetime,
    policy: LookupPolicy,
    record_failure: bool = True,
) -> LookupResult:
    """Look the order up unless its number is locked; count a failure (and lock) atomically."""
    now = _naive_utc(now)
    locked_now = False
    with transaction(support) as session:
        guard = _lock_row(session, number, now, policy)
        if guard.locked_until is not None and guard.locked_until > now:
            return LookupResult(LOCKED, locked_until=guard.locked_until)
        with shop() as shop_session:
            order = find_order(shop_session, number, postal_code)
        if order is not None:
            return LookupResult(FOUND, order=order)
        if not record_failure:
            return LookupResult(NOT_FOUND)
        locked_now = _record_failure(guard, now, policy)
        locked_until = guard.locked_until
    if locked_now:
        logger.warning(
            "order number %s locked until %s UTC after %s failed lookups",
            number, locked_until, policy.max_failures,
        )
    prune_expired(support, now)
    if locked_now:
        return LookupResult(LOCKED, locked_until=locked_until)
    return LookupResult(NOT_FOUND)


def prune_expired(support: "sessionmaker[Session]", now: datetime) -> None:
    """Forget numbers whose window is over and that are not locked (best effort)."""
    try:
        with transaction(support) as session:
            session.execute(
                delete(OrderLookupGuard).where(OrderLookupGuard.expires_at < _naive_utc(now))
            )
    except SQLAlchemyError as error:
        logger.debug("could not prune order lookup guards: %s", error)


__all__ = [
    "FOUND",
    "LOCKED",
    "NOT_FOUND",
    "LookupPolicy",
    "LookupResult",
    "OrderLookupGuard",
    "guarded_lookup",
    "prune_expired",
]
