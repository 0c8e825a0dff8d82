"""Two agents claim at once: exactly one assignment. The event-broker consumer survives a
restart of the inbox without missing or repeating a customer message."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path
from typing import Any, List

import pytest
from sqlalchemy import func, select, text

from bot.database import transaction
from bot.inbox._broker import BrokerRow, process_rows
from bot.inbox._models import Agent, CustomerMessage, HandoffEvent
from bot.inbox._service import InboxError, claim
from bot.inbox._store import InboxStore
from bot.models import utcnow
from tests._postgres import Databases
from tests.inbox._support import (
    add_agent,
    create_handoff,
    customer_says,
    escalate,
    get_handoff,
    login,
    post_json,
    run_async,
    start_harness,
)


@run_async
async def test_two_agents_click_claim_at_once_exactly_one_wins(tmp_path: Path) -> None:
    h = await start_harness(tmp_path)
    try:
        add_agent(h.store, "anna")
        add_agent(h.store, "ben")
        handoff_id = escalate(h.rasa, h.store, "tg-9")
        await h.consume()
        anna, ben = await h.client(), await h.client()
        csrf_anna, csrf_ben = await login(anna, "anna"), await login(ben, "ben")
        url = f"/inbox/api/conversations/{handoff_id}/claim"
        first, second = await asyncio.gather(
            post_json(anna, url, csrf_anna), post_json(ben, url, csrf_ben)
        )
        statuses = sorted([first.status, second.status])
        assert statuses == [200, 409]
        loser = first if first.status == 409 else second
        winner_name = "anna" if first.status == 200 else "ben"
        assert f"{winner_name} hat das Gespräch bereits übernommen" in (await loser.json())["error"]
        claims = h.store.call(lambda s: s.execute(
            select(func.count()).select_from(HandoffEvent).where(HandoffEvent.kind == "claimed")
        ).scalar_one())
        assert claims == 1
    finally:
        await h.close()


def test_claims_from_separate_connections_race_to_one_winner(databases: Databases) -> None:
    """Many threads, each with its own engine (like several inbox processes), claim at once –
    on SQLite and on PostgreSQL."""
    url = databases.new("support")
    setup = InboxStore.open(url)
    ids = [add_agent(setup, f"agent{n}") for n in range(6)]
    handoff_id = create_handoff(setup, "tg-race")
    barrier = threading.Barrier(len(ids))
    winners: List[int] = []
    losers: List[str] = []

    def attempt(agent_id: int) -> None:
        store = InboxStore.open(url)
        try:
            with transaction(store.sessions) as session:
                agent = session.get(Agent, agent_id)
                barrier.wait()
                claim(session, handoff_id, agent, utcnow())
            winners.append(agent_id)
        except InboxError as error:
            losers.append(error.message)
        finally:
            store.close()

    threads = [threading.Thread(target=attempt, args=(agent_id,)) for agent_id in ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(winners) == 1, (winners, losers)
    assert len(losers) == len(ids) - 1
    record = get_handoff(setup, handoff_id)
    assert record.assigned_to == winners[0] and record.status == "assigned"
    claims = setup.call(lambda s: s.execute(
        select(func.count()).select_from(HandoffEvent).where(HandoffEvent.kind == "claimed")
    ).scalar_one())
    setup.close()
    assert claims == 1


@run_async
async def test_consumer_restart_neither_misses_nor_repeats(tmp_path: Path) -> None:
    h = await start_harness(tmp_path)
    handoff_id = escalate(h.rasa, h.store, "tg-5")
    customer_says(h.rasa, "tg-5", "Nachricht 1")
    customer_says(h.rasa, "tg-5", "Nachricht 2")
    await h.consume()
    await h.close()  # the inbox stops ...

    customer_says(h.rasa, "tg-5", "Nachricht 3 (während die Inbox aus war)")
    customer_says(h.rasa, "tg-5", "Nachricht 4")

    from bot.inbox import create_app
    from tests.inbox._support import Harness, TestServer, start_fake_rasa

    rasa_server = await start_fake_rasa(h.rasa)  # ... and starts again on the same databases
    app = create_app(h.settings, clock=h.clock, background=False)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    again = Harness(h.settings, h.rasa, rasa_server, app, server, h.clock)
    try:
        await again.consume()
        await again.consume()  # nothing new: nothing repeated
        texts = again.store.call(lambda s: [
            m.text for m in s.execute(
                select(CustomerMessage).where(CustomerMessage.handoff_id == handoff_id)
                .order_by(CustomerMessage.id)
            ).scalars()
        ])
        assert texts == ["Nachricht 1", "Nachricht 2",
                         "Nachricht 3 (während die Inbox aus war)", "Nachricht 4"]
        record = get_handoff(again.store, handoff_id)
        assert record.last_message == "Nachricht 4"
        state_unread = again.store.call(
            lambda s: s.execute(
                select(func.count()).select_from(CustomerMessage)
            ).scalar_one()
        )
        assert state_unread == 4
    finally:
        await again.close()


@run_async
async def test_live_updates_reach_the_browser_stream(tmp_path: Path) -> None:
    h = await start_harness(tmp_path)
    try:
        add_agent(h.store, "anna")
        client = await h.client()
        await login(client, "anna")
        response = await client.get("/inbox/events")
        assert response.headers["Content-Type"].startswith("text/event-stream")
        hello = await response.content.readuntil(b"\n\n")
        assert b"event: hello" in hello
        escalate(h.rasa, h.store, "tg-live", "Hallo? Ist da jemand?")
        await h.consume()
        seen = b""
        while b"event: queue" not in seen:
            seen += await asyncio.wait_for(response.content.readuntil(b"\n\n"), 5)
        assert b"Hallo? Ist da jemand?" in seen  # the message fragment came along
        response.close()
    finally:
        await h.close()


@pytest.mark.parametrize("first_run", [True, False])
def test_two_inbox_consumers_on_postgresql_take_each_broker_row_once(
    postgres: Any, first_run: bool
) -> None:
    """Two inbox processes consume the same event broker into one PostgreSQL support database.
    The second waits for the first's transaction, then finds the rows done: it neither fails on
    the offset or the customer messages the first stored nor counts them twice."""
    url = postgres.create_database("support")
    first, second = InboxStore.open(url), InboxStore.open(url)
    handoff_id = create_handoff(first, "tg-two")
    if not first_run:  # the offset row exists from an earlier batch
        first.call(lambda session: process_rows(
            session, [BrokerRow(1, "other", {"event": "bot", "text": "Hallo"})], utcnow()
        ))
    rows = [BrokerRow(10, "tg-two", {"event": "pause"})] + [
        BrokerRow(n, "tg-two", {"event": "user", "text": f"Nachricht {n}",
                                "timestamp": 1764583200 + n})
        for n in range(11, 14)
    ]
    outcomes: List[Any] = []
    errors: List[BaseException] = []

    def consume_second() -> None:
        try:
            outcomes.append(second.call(lambda session: process_rows(session, rows, utcnow())))
        except BaseException as error:  # noqa: BLE001 - asserted below
            errors.append(error)

    session = first.sessions()
    try:
        mine = process_rows(session, rows, utcnow())
        session.flush()
        racer = threading.Thread(target=consume_second)
        racer.start()
        _wait_until_blocked(first, racer)
        session.commit()
    finally:
        session.close()
    racer.join(60)
    try:
        assert errors == []
        assert len(mine.messages) == 3 and [len(o.messages) for o in outcomes] == [0]
        count = first.call(lambda s: s.execute(
            select(func.count()).select_from(CustomerMessage)
            .where(CustomerMessage.handoff_id == handoff_id)
        ).scalar_one())
        assert count == 3
    finally:
        first.close()
        second.close()


def _wait_until_blocked(store: InboxStore, thread: threading.Thread) -> None:
    """Until another connection of this database waits for a lock (bounded: 30 s)."""
    for _ in range(300):
        waiting = store.call(lambda s: s.execute(text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock'"
        )).scalar_one())
        if waiting or not thread.is_alive():
            return
        time.sleep(0.1)
    raise AssertionError("the second consumer never reached the database")
