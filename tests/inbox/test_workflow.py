"""Transfer, snooze, canned responses, the waiting notice, ratings and the overview figures."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from bot.inbox._waiting import Housekeeping
from bot.inbox.ratings import parse_rating, record_rating
from bot.service_hours import ServiceHours
from tests.inbox._support import (
    MovableClock,
    add_agent,
    customer_says,
    escalate,
    get_handoff,
    login,
    post_json,
    run_async,
    start_harness,
)

# Tuesday 2026-03-10, 10:00 in Berlin (09:00 UTC): service open. 19:00 UTC: closed.
OPEN = datetime(2026, 3, 10, 9, 0)
CLOSED = datetime(2026, 3, 10, 19, 0)


async def _housekeeping(h: object) -> Housekeeping:
    async def changed(ids: list) -> None:
        return None

    return Housekeeping(store=h.store, rasa=h.inbox.rasa_client,  # type: ignore[attr-defined]
                        hours=ServiceHours(), clock=h.clock,  # type: ignore[attr-defined]
                        wait_minutes=10, on_change=changed)


@run_async
async def test_waiting_notice_once_per_waiting_period(tmp_path: Path) -> None:
    clock = MovableClock(OPEN)
    h = await start_harness(tmp_path, clock)
    try:
        handoff_id = escalate(h.rasa, h.store, "tg-w", now=OPEN)
        await h.consume()
        keeper = await _housekeeping(h)
        clock.now = OPEN + timedelta(minutes=9)
        await keeper.run_once()
        assert keeper.sent == []
        clock.now = OPEN + timedelta(minutes=11)
        await keeper.run_once()
        clock.now = OPEN + timedelta(minutes=40)
        customer_says(h.rasa, "tg-w", "Hallo??")
        await h.consume()
        await keeper.run_once()
        notices = [e for e in h.rasa.appended
                   if e.get("metadata", {}).get("inbox", {}).get("kind") == "waiting_notice"]
        assert len(notices) == 1
        assert "Warteschlange" in notices[0]["text"]
        # back into the queue = a new waiting period
        add_agent(h.store, "anna")
        client = await h.client()
        csrf = await login(client, "anna")
        await post_json(client, f"/inbox/api/conversations/{handoff_id}/claim", csrf)
        await post_json(client, f"/inbox/api/conversations/{handoff_id}/transfer", csrf,
                        {"agent_id": "queue"})
        assert get_handoff(h.store, handoff_id).status == "open"
        clock.now = CLOSED
        await keeper.run_once()
        notices = [e for e in h.rasa.appended
                   if e.get("metadata", {}).get("inbox", {}).get("kind") == "waiting_notice"]
        assert len(notices) == 2
        assert "nicht besetzt" in notices[1]["text"]
        assert "morgen (Mittwoch) ab 8 Uhr" in notices[1]["text"]
    finally:
        await h.close()


@run_async
async def test_outside_hours_handoff_gets_no_second_notice(tmp_path: Path) -> None:
    clock = MovableClock(CLOSED)
    h = await start_harness(tmp_path, clock)
    try:
        escalate(h.rasa, h.store, "tg-night", now=CLOSED, outside=True)
        await h.consume()
        keeper = await _housekeeping(h)
        clock.now = CLOSED + timedelta(hours=3)
        await keeper.run_once()
        assert keeper.sent == []  # action_handoff already said when we answer
    finally:
        await h.close()


@run_async
async def test_a_customer_who_wrote_english_gets_the_waiting_notice_in_english(
    tmp_path: Path,
) -> None:
    clock = MovableClock(OPEN)
    h = await start_harness(tmp_path, clock)
    try:
        escalate(h.rasa, h.store, "tg-en", "could someone from your team call me back please?",
                 now=OPEN)
        escalate(h.rasa, h.store, "tg-de", "kann mich bitte jemand zurückrufen?", now=OPEN)
        await h.consume()
        keeper = await _housekeeping(h)
        clock.now = OPEN + timedelta(minutes=11)
        await keeper.run_once()
        notices = {e["sender"]: e["text"] for e in h.rasa.appended
                   if e.get("metadata", {}).get("inbox", {}).get("kind") == "waiting_notice"}
        assert "a colleague will reply here in this chat, in English" in notices["tg-en"]
        assert "Warteschlange" in notices["tg-de"]
    finally:
        await h.close()


@run_async
async def test_transfer_snooze_and_wake_on_customer_message(tmp_path: Path) -> None:
    h = await start_harness(tmp_path)
    try:
        add_agent(h.store, "anna")
        ben_id = add_agent(h.store, "ben")
        handoff_id = escalate(h.rasa, h.store, "tg-t")
        await h.consume()
        anna, ben = await h.client(), await h.client()
        csrf_a, csrf_b = await login(anna, "anna"), await login(ben, "ben")
        base = f"/inbox/api/conversations/{handoff_id}"
        await post_json(anna, f"{base}/claim", csrf_a)
        # ben may not answer anna's conversation
        refused = await post_json(ben, f"{base}/reply", csrf_b, {"text": "Hi"})
        assert refused.status == 403 and "anna bearbeitet" in (await refused.json())["error"]
        moved = await post_json(anna, f"{base}/transfer", csrf_a, {"agent_id": ben_id})
        assert moved.status == 200
        assert get_handoff(h.store, handoff_id).assigned_to == ben_id
        mine = (await (await ben.get("/inbox/api/queue?who=mine")).json())["html"]
        assert "tg-t" in mine
        assert (await post_json(ben, f"{base}/snooze", csrf_b, {"option": "1h"})).status == 200
        assert get_handoff(h.store, handoff_id).status == "snoozed"
        customer_says(h.rasa, "tg-t", "Noch da?")
        await h.consume()
        assert get_handoff(h.store, handoff_id).status == "assigned"
        view = (await (await ben.get(base)).json())["html"]
        assert "anna hat das Gespräch an ben weitergegeben" in view
        assert "Wieder offen: der Kunde hat geschrieben" in view
    finally:
        await h.close()


@run_async
async def test_canned_responses_are_managed_by_admins(tmp_path: Path) -> None:
    h = await start_harness(tmp_path)
    try:
        add_agent(h.store, "chefin", admin=True)
        add_agent(h.store, "anna")
        admin, agent = await h.client(), await h.client()
        csrf_admin, csrf_agent = await login(admin, "chefin"), await login(agent, "anna")
        made = await admin.post("/inbox/canned", data={
            "csrf_token": csrf_admin, "shortcut": "versand",
            "text": "Der Versand kostet 4,95 €, ab 50 € ist er kostenlos.",
        }, allow_redirects=False)
        assert made.status == 302
        items = (await (await agent.get("/inbox/api/canned")).json())["items"]
        assert items == [{"id": items[0]["id"], "shortcut": "versand",
                          "text": "Der Versand kostet 4,95 €, ab 50 € ist er kostenlos."}]
        refused = await agent.post("/inbox/canned", data={
            "csrf_token": csrf_agent, "shortcut": "x", "text": "y"})
        assert refused.status == 403
        page = await (await agent.get("/inbox/canned")).text()
        assert "/versand" in page
    finally:
        await h.close()


@run_async
async def test_rating_is_stored_with_the_handoff_and_shown_on_the_dashboard(
    tmp_path: Path,
) -> None:
    h = await start_harness(tmp_path)
    try:
        add_agent(h.store, "anna")
        handoff_id = escalate(h.rasa, h.store, "tg-r", channel="telegram", reason="complaint")
        await h.consume()
        client = await h.client()
        csrf = await login(client, "anna")
        base = f"/inbox/api/conversations/{handoff_id}"
        await post_json(client, f"{base}/claim", csrf)
        await post_json(client, f"{base}/reply", csrf, {"text": "Bin da!"})
        await post_json(client, f"{base}/resolve", csrf)
        stored = h.store.call(lambda s: record_rating(s, "tg-r", 4, h.clock()))
        assert stored is not None and stored.id == handoff_id
        again = h.store.call(lambda s: record_rating(s, "tg-r", 1, h.clock()))
        assert again is None  # one rating per handoff
        assert get_handoff(h.store, handoff_id).rating == 4
        page = await (await client.get("/inbox/dashboard")).text()
        assert "Zufriedenheit" in page and "4,0" in page
        assert "Beschwerde" in page and "Telegram" in page
    finally:
        await h.close()


def test_parse_rating() -> None:
    assert [parse_rating(v) for v in (4, "5", "eine 3", "vier Sterne", "ich gebe 2 von 5")] == [
        4, 5, 3, 4, 2]
    assert parse_rating("keine Ahnung") is None and parse_rating(7) is None


@run_async
async def test_transfer_and_snooze_record_the_optional_reason(tmp_path: Path) -> None:
    from bot.inbox._models import HandoffEvent

    h = await start_harness(tmp_path)
    try:
        add_agent(h.store, "anna")
        ben = add_agent(h.store, "ben")
        client = await h.client()
        csrf = await login(client, "anna")
        handoff_id = escalate(h.rasa, h.store, "tg-9", "Rechnung falsch")
        await h.consume()
        base = f"/inbox/api/conversations/{handoff_id}"
        assert (await post_json(client, f"{base}/claim", csrf)).status == 200
        snoozed = await post_json(client, f"{base}/snooze", csrf,
                                  {"option": "1h", "reason": "Warte auf\x00 Buchhaltung"})
        assert snoozed.status == 200, await snoozed.text()
        assert (await post_json(client, f"{base}/reopen", csrf)).status == 200
        too_long = await post_json(client, f"{base}/transfer", csrf,
                                   {"agent_id": ben, "reason": "x" * 201})
        assert too_long.status == 400
        moved = await post_json(client, f"{base}/transfer", csrf,
                                {"agent_id": ben, "reason": "Ben kennt den Fall"})
        assert moved.status == 200, await moved.text()
        details = h.store.call(lambda s: [e.detail for e in s.query(HandoffEvent).filter_by(
            handoff_id=handoff_id).order_by(HandoffEvent.id)])
        assert any(d and d.endswith("\nWarte auf Buchhaltung") for d in details)
        assert "\nBen kennt den Fall" in details
        view = await (await client.get(base)).json()
        assert "an ben weitergegeben – Grund: Ben kennt den Fall" in view["html"]
        assert "Grund: Warte auf Buchhaltung" in view["html"]
    finally:
        await h.close()
