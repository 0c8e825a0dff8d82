"""Art. 15/17 on real stores: Rasa's SQL tracker store and event broker, every support-DB
table, log files. After a delete nothing anywhere holds the customer's id, number or words."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path

from bot.privacy._report import render_text
from bot.privacy._stores import Stores, collect, delete_customer, sender_ids_for
from tests._stack import Stack
from tests.privacy._plant import Customer, plant, settings_for, stores

JANA = Customer(
    sender_id="whatsapp:+4917012345678",
    phone="+4917012345678",
    texts=[
        "Hallo, ich will bitte mit einem Menschen reden",
        "Mein Reißverschluss klemmt seit gestern",
    ],
    note="Kundin wirkt verärgert, Kulanz prüfen",
    reply="Hallo Jana, wir schicken dir einen neuen Reißverschluss.",
)
# Same digits but one shorter: a different customer that must never match Jana's number.
NEIGHBOUR = Customer(
    sender_id="whatsapp:+491701234567",
    phone="+491701234567",
    texts=["Wann kommt meine Bestellung an der Packstation", "Danke für die schnelle Hilfe"],
    note="Paket liegt in der Filiale",
    reply="Dein Paket liegt in der Packstation bereit.",
)
TOM = Customer(
    sender_id="987654321",
    phone=None,
    texts=["Ich möchte meine Jacke zurückgeben bitte", "Die Ärmel sind viel zu kurz geraten"],
    note="Retourenlabel geschickt",
    reply="Hier ist dein Retourenlabel, Tom.",
)


def everything(var_dir: Path) -> str:
    """Every row of every table of every database in ``var_dir`` and every log line."""
    dump = []
    for database in sorted(var_dir.glob("*.db")):
        connection = sqlite3.connect(database)
        try:
            tables = [r[0] for r in connection.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'"
            )]
            for table in tables:
                for row in connection.execute(f'SELECT * FROM "{table}"'):  # noqa: S608
                    dump.append(f"{database.name}.{table}: {row!r}")
        finally:
            connection.close()
    for log in sorted(var_dir.glob("*.log")):
        dump.append(log.read_text(encoding="utf-8"))
    return "\n".join(dump)


def _traces(customer: Customer) -> list[str]:
    traces = [customer.sender_id, customer.note, customer.reply, *customer.texts]
    if customer.phone:
        traces += [customer.phone, customer.phone[1:]]
    return traces


def test_phone_number_finds_exactly_that_whatsapp_sender() -> None:
    for query in ("0170 1234 5678", "+49 170 12345678", "004917012345678",
                  "whatsapp:+49 170 1234-5678", "whatsapp:+4917012345678"):
        assert "whatsapp:+4917012345678" in sender_ids_for(query), query
    assert "whatsapp:+4917012345678" not in sender_ids_for("0170 1234 567")
    assert sender_ids_for("987654321") == ["987654321"]  # a Telegram chat id is no number


def test_delete_removes_the_customer_from_every_store_and_spares_others(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    for customer in (JANA, NEIGHBOUR, TOM):
        plant(settings, customer)
    before = everything(tmp_path)
    for trace in _traces(JANA) + _traces(NEIGHBOUR) + _traces(TOM):
        assert trace in before or trace.startswith("49"), trace
    others_before = collect(stores(settings), NEIGHBOUR.sender_id).counts()
    tom_before = collect(stores(settings), TOM.sender_id).counts()

    counts = delete_customer(stores(settings), "0170 1234 5678")

    after = everything(tmp_path)
    for trace in _traces(JANA):
        assert trace not in after, f"{trace!r} survived the delete"
    from bot.privacy import pseudonym

    assert pseudonym(JANA.sender_id) not in after
    for trace in _traces(NEIGHBOUR) + _traces(TOM):
        assert trace in after or trace.startswith("49"), f"{trace!r} of another customer lost"
    assert collect(stores(settings), NEIGHBOUR.sender_id).counts() == others_before
    assert collect(stores(settings), TOM.sender_id).counts() == tom_before
    assert counts["rasa_tracker.events"] > 0 and counts["rasa_event_broker.events"] > 0
    for table in ("handoffs", "inbox_handoff_state", "inbox_handoff_events", "inbox_notes",
                  "inbox_replies", "inbox_customer_messages", "trainer_labels",
                  "channel_contacts", "channel_inbound", "channel_media",
                  "channel_deliveries", "channel_choices", "answer_ratings"):
        assert counts[f"support.{table}"] >= 1, table
    assert counts["log_lines"] == 2
    # Idempotent: a second delete finds nothing and changes nothing.
    assert sum(delete_customer(stores(settings), JANA.sender_id).values()) == 0
    assert everything(tmp_path) == after


def test_deleted_customer_who_writes_again_starts_fresh(tmp_path: Path) -> None:
    from rasa.core.tracker_store import SQLTrackerStore
    from rasa.shared.core.domain import Domain

    settings = settings_for(tmp_path)
    plant(settings, JANA)
    delete_customer(stores(settings), JANA.sender_id)
    store = SQLTrackerStore(domain=Domain.empty(), dialect="sqlite",
                            db=str(tmp_path / "tracker.db"))
    assert asyncio.run(store.retrieve(JANA.sender_id)) is None
    plant(settings, Customer(JANA.sender_id, JANA.phone, ["Hallo, ich bin wieder da"], "n", "r"))
    tracker = asyncio.run(store.retrieve(JANA.sender_id))
    assert tracker is not None
    texts = [e.text for e in tracker.events if getattr(e, "text", None)]
    assert "Hallo, ich bin wieder da" in texts and JANA.texts[0] not in texts
    store.engine.dispose()


def test_export_holds_everything_and_reads_in_german(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    plant(settings, JANA)
    plant(settings, TOM)
    data = collect(stores(settings), "+49 170 12345678")
    exported = json.dumps(data.as_json(), ensure_ascii=False)
    json.loads(exported)  # machine-readable
    for trace in _traces(JANA):
        assert trace in exported or trace.startswith("49"), trace
    for trace in TOM.texts + [TOM.note, TOM.reply]:
        assert trace not in exported
    counts = data.counts()
    for store in ("rasa_tracker.events", "rasa_event_broker.events", "support.handoffs",
                  "support.inbox_notes", "support.inbox_replies",
                  "support.inbox_customer_messages", "support.trainer_labels",
                  "support.channel_contacts", "support.channel_media",
                  "support.channel_deliveries", "support.channel_inbound",
                  "support.channel_choices", "support.inbox_handoff_events",
                  "support.inbox_handoff_state", "support.answer_ratings", "log_lines"):
        assert counts[store] >= 1, store
    text = render_text(data, retention_days=180)
    assert text.startswith("Datenauskunft nach Art. 15 DSGVO")
    assert "Dein Gesprächsverlauf:" in text
    assert f"Du: {JANA.texts[0]}" in text
    assert JANA.reply in text and JANA.note in text
    assert "du wolltest mit einem Menschen sprechen" in text
    assert "nach 180 Tagen" in text
    assert "zum Thema shipping_costs: hat nicht geholfen" in text
    assert "Foto („Foto vom kaputten Reißverschluss“)" in text


def test_export_of_an_unknown_customer_says_so(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    plant(settings, TOM)
    data = collect(stores(settings), "+49 151 0000000")
    assert not data.found
    assert "keine Daten gespeichert" in render_text(data, 180)


def test_real_conversation_through_rasa_is_exported_and_deleted(stack: Stack) -> None:
    """The real stack: Rasa's tracker store and event broker, action_handoff's support row."""
    sender, other = "whatsapp:+4915112345678", "whatsapp:+4915187654321"
    words = ["Moin, hier schreibt Greta Beispiel", "Ich will mit einem Menschen sprechen"]
    for text_ in words:
        stack.send(sender, text_)
    stack.send(other, "Wie lange dauert der Versand nach Österreich?")
    settings = stack.settings
    everywhere = Stores.from_settings(settings)
    data = collect(everywhere, "0151 12345678")
    assert data.matched_ids == [sender]
    counts = data.counts()
    assert counts["rasa_tracker.events"] > 0 and counts["rasa_event_broker.events"] > 0
    assert counts["support.handoffs"] == 1
    assert f"Du: {words[1]}" in render_text(data, 180)
    other_before = collect(everywhere, other).counts()

    deleted = delete_customer(everywhere, "+49 151 12345678")

    assert deleted["rasa_tracker.events"] == counts["rasa_tracker.events"]
    dump = everything(settings.var_dir)
    for trace in [sender, "+4915112345678", "4915112345678", *words]:
        assert trace not in dump, trace
    assert collect(everywhere, other).counts() == other_before
    # Writing again starts a fresh conversation: not paused for the old handoff, no old words.
    assert stack.send(sender, "Hallo"), "the bot answers again"
    texts = [e.get("text") for e in stack.tracker(sender)["events"] if e["event"] == "user"]
    assert texts == ["Hallo"]
