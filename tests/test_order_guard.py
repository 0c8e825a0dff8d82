"""Failed order lookups per order number: atomic across processes sharing one database
(SQLite's write lock; PostgreSQL's INSERT … ON CONFLICT DO NOTHING + SELECT … FOR UPDATE)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

from bot.database import make_engine, session_factory
from bot.migrations import SUPPORT, ensure_schema
from bot.order_guard import (
    FOUND,
    LOCKED,
    NOT_FOUND,
    LookupPolicy,
    OrderLookupGuard,
    guarded_lookup,
)
from bot.seed import seed_shop
from tests._postgres import Databases

NOW = datetime(2026, 11, 23, 9, 0)


def test_concurrent_guesses_from_two_processes_get_no_more_than_the_limit(
    databases: Databases,
) -> None:
    """Two action-server processes = two engines (own connection pools) on the same databases."""
    support_url, shop_url = databases.new("support"), databases.new("shop")
    seed_shop(make_engine(shop_url))
    ensure_schema(support_url, SUPPORT)
    processes = [
        (session_factory(make_engine(support_url)), session_factory(make_engine(shop_url)))
        for _ in range(2)
    ]
    policy = LookupPolicy(max_failures=5)

    def guess(i: int) -> str:
        support, shop = processes[i % 2]
        return guarded_lookup(
            support, shop, "BP-482913", f"{10000 + i}", now=NOW, policy=policy
        ).outcome

    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(guess, range(24)))
    # 4 plain failures, the 5th locks; everything after it is refused without a lookup.
    assert outcomes.count(NOT_FOUND) == 4
    assert outcomes.count(LOCKED) == 20
    support, shop = processes[0]
    right = guarded_lookup(support, shop, "BP-482913", "80331", now=NOW, policy=policy)
    assert right.outcome == LOCKED and right.order is None


def test_success_does_not_count_and_rows_of_the_past_are_pruned(databases: Databases) -> None:
    support_engine = make_engine(databases.new("support"))
    shop_engine = make_engine(databases.new("shop"))
    seed_shop(shop_engine)
    ensure_schema(support_engine, SUPPORT)
    support, shop = session_factory(support_engine), session_factory(shop_engine)
    policy = LookupPolicy(max_failures=2, window=timedelta(minutes=10))
    for _ in range(5):
        assert guarded_lookup(
            support, shop, "BP-482913", "80331", now=NOW, policy=policy
        ).outcome == FOUND
    assert guarded_lookup(support, shop, "BP-123456", "1", now=NOW, policy=policy).outcome \
        == NOT_FOUND
    later = NOW + timedelta(minutes=11)
    guarded_lookup(support, shop, "BP-654321", "1", now=later, policy=policy)
    with support() as session:
        numbers = {g.order_number for g in session.query(OrderLookupGuard)}
    assert numbers == {"BP-654321"}
