"""What Paula already knew is on the conversation: the order she looked up (a successful lookup
clears the slot, the panel used to say "keine Bestellung nachgeschlagen") and a contact card
(name as the channel delivers it, first contact, earlier conversations and their ratings)."""

from __future__ import annotations

from pathlib import Path

from bot.database import make_engine, transaction
from bot.inbox._contact import contact_of, order_lookups
from bot.models import Handoff
from bot.seed import seed_shop
from tests.inbox._support import add_agent, escalate, login, run_async, start_harness


def looked_up_order(rasa: object, sender: str) -> None:
    """The events Rasa writes for a successful order lookup (form, status, slots cleared)."""
    record = rasa.record  # type: ignore[attr-defined]
    meta = {"telegram": {"user": {"id": 4711, "first_name": "Lena", "language_code": "de"}}}
    record(sender, {"event": "user", "text": "Wo ist meine Bestellung BP-482913?",
                    "metadata": meta})
    record(sender, {"event": "action", "name": "order_status_form"})
    record(sender, {"event": "slot", "name": "order_number", "value": "BP-482913"})
    record(sender, {"event": "user", "text": "80331", "metadata": meta})
    record(sender, {"event": "slot", "name": "postal_code", "value": "80331"})
    record(sender, {"event": "action", "name": "action_order_status"})
    record(sender, {"event": "bot", "text": "Deine Bestellung BP-482913 ist unterwegs."})
    record(sender, {"event": "slot", "name": "postal_code", "value": None})
    record(sender, {"event": "slot", "name": "order_lookup_failures", "value": 0.0})
    record(sender, {"event": "slot", "name": "order_number", "value": None})


@run_async
async def test_order_panel_shows_the_order_paula_looked_up_and_a_contact_card(
    tmp_path: Path
) -> None:
    h = await start_harness(tmp_path)
    try:
        seed_shop(make_engine(h.settings.shop_db_url))
        with transaction(h.store.sessions) as session:
            session.add(Handoff(sender_id="tg-77", channel="telegram", reason="complaint",
                                confidence=0.9, last_message="alt", status="resolved",
                                rating=4))
        looked_up_order(h.rasa, "tg-77")
        handoff_id = escalate(h.rasa, h.store, "tg-77", "Das Paket ist aber nicht da")
        await h.consume()
        add_agent(h.store, "anna")
        client = await h.client()
        await login(client, "anna")
        view = await (await client.get(f"/inbox/api/conversations/{handoff_id}")).json()
        page = view["html"]
        assert "Paula hat keine Bestellung nachgeschlagen" not in page
        assert "BP-482913" in page and "von Paula nachgeschlagen" in page
        assert "München" in page and "80331" in page
        assert "<h3>Kontakt</h3>" in page and "Lena" in page and "4711" in page
        assert "Erster Kontakt" in page
        assert "Frühere Gespräche</dt><dd>1 · Ø ★ 4,0" in page
    finally:
        await h.close()


def test_whatsapp_contact_has_profile_name_and_phone_and_failed_numbers_are_not_confirmed(
) -> None:
    events = [
        {"event": "user", "text": "hallo", "timestamp": 1700000000.0,
         "metadata": {"whatsapp": {"profile_name": "Jonas <b>", "wa_id": "4915112345678"}}},
        {"event": "slot", "name": "order_number", "value": "BP-111111"},
        {"event": "user", "text": "12345"},
        {"event": "slot", "name": "order_number", "value": None},  # not found: asked again
        {"event": "slot", "name": "order_number", "value": "BP-482913"},
        {"event": "action", "name": "action_order_status"},
        {"event": "slot", "name": "order_number", "value": None},
    ]
    contact = contact_of(events, "whatsapp", "whatsapp:+4915112345678")
    assert contact.name == "Jonas <b>" and contact.phone == "+4915112345678"
    assert contact.first_seen is not None and contact.first_seen.year == 2023
    lookups = order_lookups(events)
    assert [(o.number, o.confirmed) for o in lookups] == [("BP-111111", False),
                                                          ("BP-482913", True)]
