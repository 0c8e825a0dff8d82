"""Log-in throttling in the support database, shared by every inbox process.

Three counters per attempt, each over a fixed window (default 15 minutes):

* ``pair:<account>|<client>`` – failures of one client against one account. At
  ``per_pair`` the client gets HTTP 429 (with ``Retry-After``) for that account.
* ``client:<address>`` – failures of one client against any account. At ``per_client`` the
  client gets 429 for every account (password spraying). IPv6 clients count per /64.
* ``account:<account>`` – failures against the account from everywhere. It never refuses:
  beyond ``account_free`` failures every attempt on the account waits a growing delay
  (capped at ``max_delay``) before its password is checked, and the right password still
  logs in. So someone who fails on purpose locks out only their own client, not the agent.

An attempt is *reserved* (counted as a failure) before its password is checked, in one
transaction that first writes the three rows: concurrent attempts queue on those row locks
(SQLite: the database write lock), so 25 parallel tries are 25 counted tries. A successful
log-in gives its reservation back and clears its pair counter.
"""

from __future__ import annotations

import ipaddress
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Dict, Tuple

from sqlalchemy import delete
from sqlalchemy.orm import Session

from bot.inbox._models import LoginThrottle


@dataclass(frozen=True)
class ThrottlePolicy:
    window: timedelta = timedelta(minutes=15)
    per_pair: int = 5
    per_client: int = 20
    account_free: int = 5
    base_delay: float = 0.5
    max_delay: float = 8.0

    def delay(self, account_failures: int) -> float:
        """Seconds an attempt waits when the account has this many recent failures."""
        if account_failures < self.account_free:
            return 0.0
        exponent = min(account_failures - self.account_free, 16)
        return float(min(self.base_delay * 2**exponent, self.max_delay))


@dataclass(frozen=True)
class Attempt:
    """The outcome of a reservation: refused (retry after N seconds) or allowed after a delay."""

    allowed: bool
    retry_after: int = 0
    delay: float = 0.0


def account_key(name: str) -> str:
    return name.strip().lower()[:64]


def client_bucket(client: str) -> str:
    """The unit a client is counted in: its IPv4 address, or its IPv6 /64 network (one
    customer line typically owns a whole /64, so single addresses are free to rotate)."""
    try:
        address = ipaddress.ip_address(client)
    except ValueError:
        return client[:64]
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


def _keys(account: str, client: str) -> Tuple[str, str, str]:
    client = client_bucket(client)
    return f"account:{account}", f"pair:{account}|{client}", f"client:{client}"


def _locked_row(session: Session, key: str, now: datetime) -> LoginThrottle:
    """The row for ``key``, created if new, and locked for this transaction (the write comes
    first, so concurrent reservations are serialised before anything is read)."""
    dialect = session.get_bind().dialect.name
    values = {"key": key, "failures": 0, "window_start": now, "updated_at": now}
    if dialect in ("sqlite", "postgresql"):
        if dialect == "sqlite":
            from sqlalchemy.dialects.sqlite import insert
        else:
            from sqlalchemy.dialects.postgresql import insert
        statement = insert(LoginThrottle).values(**values).on_conflict_do_update(
            index_elements=[LoginThrottle.key], set_={"updated_at": now}
        )
        session.execute(statement)
        row = session.get(LoginThrottle, key, populate_existing=True)
    else:  # other databases: lock the row if it exists, else insert it
        row = session.get(LoginThrottle, key, with_for_update=True, populate_existing=True)
        if row is None:
            row = LoginThrottle(**values)
            session.add(row)
            session.flush()
    assert row is not None
    return row


def _current(row: LoginThrottle, now: datetime, window: timedelta) -> LoginThrottle:
    if row.window_start <= now - window:
        row.failures = 0
        row.window_start = now
    row.updated_at = now
    return row


def _rows(
    session: Session, policy: ThrottlePolicy, account: str, client: str, now: datetime
) -> Dict[str, LoginThrottle]:
    # Always in the same order (account, pair, client): no lock-order deadlocks.
    names = ("account", "pair", "client")
    return {
        name: _current(_locked_row(session, key, now), now, policy.window)
        for name, key in zip(names, _keys(account, client), strict=True)
    }


def reserve_attempt(
    session: Session, policy: ThrottlePolicy, account: str, client: str, now: datetime
) -> Attempt:
    """Count an attempt before its password is checked, or refuse it (see module doc)."""
    rows = _rows(session, policy, account, client, now)
    blocking = [
        row for row, limit in ((rows["pair"], policy.per_pair), (rows["client"], policy.per_client))
        if row.failures >= limit
    ]
    if blocking:
        until = max(row.window_start + policy.window for row in blocking)
        return Attempt(False, retry_after=max(1, math.ceil((until - now).total_seconds())))
    delay = policy.delay(int(rows["account"].failures))
    for row in rows.values():
        row.failures += 1
    return Attempt(True, delay=delay)


def settle_attempt(
    session: Session, policy: ThrottlePolicy, account: str, client: str, now: datetime,
    succeeded: bool,
) -> None:
    """After the password check: a success gives the reservation back; a failure stays."""
    if succeeded:
        rows = _rows(session, policy, account, client, now)
        rows["pair"].failures = 0
        for name in ("account", "client"):
            rows[name].failures = max(0, int(rows[name].failures) - 1)
    session.execute(delete(LoginThrottle).where(LoginThrottle.updated_at < now - policy.window))
