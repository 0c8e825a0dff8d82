"""What the channels remember survives a restart: seen ids, contacts, deliveries, choices – on
SQLite and on PostgreSQL; a provider's redelivery racing the original is accepted once."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Dict, List

import pytest

from bot.database import transaction
from bot.models import utcnow
from channels._store import ChannelDelivery, ChannelStore, MediaItem
from tests._postgres import Databases


@pytest.fixture()
def url(databases: Databases) -> str:
    """The support database: a SQLite file, then a PostgreSQL database."""
    return databases.new("support")


def store_at(url: str) -> ChannelStore:
    store = ChannelStore.from_url(url)
    store.ensure_schema()
    return store


def test_an_inbound_id_is_accepted_once_also_after_a_restart(url: str) -> None:
    assert store_at(url).claim_inbound("telegram", "1001", "42") is True
    restarted = store_at(url)
    assert restarted.claim_inbound("telegram", "1001", "42") is False
    assert restarted.claim_inbound("whatsapp", "1001", "whatsapp:+49") is True


def test_old_dedupe_records_are_pruned(url: str) -> None:
    # status-callback ids are pruned for good (an old message's reports are ignored anyway)
    store = store_at(url)
    store.claim_inbound("whatsapp_status", "SM1:delivered:", None)
    assert store.forget_inbound_before(utcnow() + timedelta(seconds=1)) == 1
    assert store.claim_inbound("whatsapp_status", "SM1:delivered:", None) is True


def test_touching_a_contact_opens_the_window_and_clears_unreachable(url: str) -> None:
    store = store_at(url)
    store.mark_unreachable("telegram", "42", "blocked")
    assert store.contact("telegram", "42").unreachable
    before = store.touch_contact("telegram", "42")
    assert before.unreachable and before.last_inbound_at is None
    after = store.contact("telegram", "42")
    assert not after.unreachable and after.last_inbound_at is not None


def test_status_only_moves_forward_and_failures_keep_their_reason(url: str) -> None:
    store = store_at(url)
    row = store.record_delivery("whatsapp", "w", status="sending", text="Hallo")
    store.finish_delivery(row, status="queued", provider_message_id="SM1", attempts=1)
    assert store.update_status("SM1", "delivered") == "w"
    assert store.update_status("SM1", "sent") == "w"  # late report of an earlier state
    assert store.deliveries_for("whatsapp", "w")[0].status == "delivered"
    store.update_status(
        "SM1", "undelivered", reason="undelivered", provider_detail="weg", error_code="30008"
    )
    [delivery] = store.deliveries_for("whatsapp", "w")
    assert (delivery.status, delivery.reason, delivery.error_code) == (
        "undelivered", "undelivered", "30008"
    )
    assert store.update_status("SM-unknown", "sent") is None


def test_a_choice_is_taken_once_and_expires(url: str) -> None:
    store = store_at(url)
    store.save_choices("whatsapp", "w", ["/request_human", "Frage?"])
    assert store.take_choice("whatsapp", "w", 3, timedelta(hours=1)) is None
    assert store.take_choice("whatsapp", "w", 2, timedelta(hours=1)) == "Frage?"
    assert store.take_choice("whatsapp", "w", 2, timedelta(hours=1)) is None
    store.save_choices("whatsapp", "w", ["a"])
    assert store.take_choice("whatsapp", "w", 1, timedelta(seconds=-1)) is None


def test_long_payloads_get_a_short_stable_key(url: str) -> None:
    store = store_at(url)
    payload = "Wie lange dauert die Lieferung nach Österreich und in die Schweiz genau?"
    key = store.payload_key(payload)
    assert key == store.payload_key(payload) and len(key) == 32
    assert store_at(url).payload_for(key) == payload
    assert store.payload_for("0" * 32) is None


def test_media_references_are_kept(url: str) -> None:
    store = store_at(url)
    store.record_media(
        "telegram", "42", "tg-1",
        [MediaItem("photo", "file-1", "image/jpeg", {"width": 10})], "Kaputt",
    )
    [media] = store.media_for("telegram", "42")
    assert (media.kind, media.reference, media.caption) == ("photo", "file-1", "Kaputt")


def test_unhandled_messages_are_found_until_marked_handled(url: str) -> None:
    store = store_at(url)
    store.claim_inbound("whatsapp", "SM1", "w", '{"Body": "Hallo"}')
    store.claim_inbound("whatsapp", "SM2", "w", '{"Body": "Tschüss"}')
    store.mark_handled("whatsapp", "SM1")
    since = utcnow() - timedelta(minutes=1)
    assert store_at(url).unhandled_since("whatsapp", since) == [("SM2", '{"Body": "Tschüss"}')]
    assert store.unhandled_since("whatsapp", utcnow() + timedelta(minutes=1)) == []


def test_a_status_report_that_overtakes_the_send_is_kept(url: str) -> None:
    store = store_at(url)
    assert store.update_status("SM9", "sent", channel="whatsapp", recipient="w") == "w"
    store.record_delivery(
        "whatsapp", "w", status="queued", text="Hallo", provider_message_id="SM9", attempts=1
    )
    [delivery] = store.deliveries_for("whatsapp", "w")
    assert (delivery.status, delivery.text, delivery.attempts) == ("sent", "Hallo", 1)


def test_telegram_update_replayed_after_the_dedupe_window_is_refused(url: str) -> None:
    """Its dedupe row is gone after 7 days; the high-water mark still knows the id was seen."""
    store = store_at(url)
    assert store.claim_inbound("telegram", "5000", "42") is True
    assert store.claim_inbound("telegram", "4990", "42") is True
    assert store.forget_inbound_before(utcnow() + timedelta(seconds=1)) == 2
    assert store_at(url).claim_inbound("telegram", "5000", "42") is False
    assert store.claim_inbound("telegram", "4990", "42") is False
    assert store.claim_inbound("telegram", "5001", "42") is True  # newer ids are welcome


def test_whatsapp_ids_are_remembered_beyond_the_dedupe_window(url: str) -> None:
    """Twilio's MessageSid carries no order or time: its (compact) rows are kept much longer."""
    store = store_at(url)
    assert store.claim_inbound("whatsapp", "SMabc", "whatsapp:+49", "{}") is True
    store.mark_handled("whatsapp", "SMabc")
    store.forget_inbound_before(utcnow() + timedelta(days=8))
    assert store.claim_inbound("whatsapp", "SMabc", "whatsapp:+49") is False


def test_status_report_for_an_old_message_is_ignored(url: str) -> None:
    store = store_at(url)
    row = store.record_delivery("whatsapp", "whatsapp:+49", status="delivered", text="Hallo",
                                provider_message_id="SMold")
    with transaction(store.sessions) as session:
        session.get(ChannelDelivery, row).created_at = utcnow() - timedelta(days=8)
    assert store.update_status("SMold", "failed", reason="undelivered") is None
    assert store.deliveries_for("whatsapp", "whatsapp:+49")[0].status == "delivered"


def test_a_redelivery_racing_the_original_is_accepted_once(url: str) -> None:
    """Several server processes (own engines) get the same update / MessageSid at once."""
    stores = [store_at(url) for _ in range(6)]
    barrier = threading.Barrier(len(stores))
    accepted: Dict[str, List[bool]] = {"telegram": [], "whatsapp": []}

    def deliver(store: ChannelStore) -> None:
        barrier.wait()
        accepted["telegram"].append(store.claim_inbound("telegram", "70001", "42", "{}"))
        accepted["whatsapp"].append(store.claim_inbound("whatsapp", "SMtwice", "w", "{}"))

    threads = [threading.Thread(target=deliver, args=(store,)) for store in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    try:
        assert sorted(accepted["telegram"]) == [False] * 5 + [True]
        assert sorted(accepted["whatsapp"]) == [False] * 5 + [True]
    finally:
        for store in stores:
            store.engine.dispose()
