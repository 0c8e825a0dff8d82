"""WhatsApp output against the fake Twilio API with twilio's real async client (no Rasa)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Iterator

import pytest

from bot.models import utcnow
from bot.settings import WhatsAppSettings
from channels._inbound import LazyStore
from channels._retry import DeliveryFailed, RetryPolicy
from channels._store import ChannelStore
from channels._whatsapp_output import WhatsAppOutput, WhatsAppSender
from channels.delivery import DeliveryReason
from tests.channels.fakes import FakeTwilio

SID, TOKEN, FROM = "AC" + "3" * 32, "auth", "whatsapp:+4915100000000"
CUSTOMER = "whatsapp:+491701111111"


@pytest.fixture()
def twilio() -> Iterator[FakeTwilio]:
    with FakeTwilio(SID, TOKEN) as fake:
        yield fake


def sender(twilio: FakeTwilio, tmp_path: Path, template: str = "") -> WhatsAppSender:
    settings = WhatsAppSettings(SID, TOKEN, FROM, twilio.url, template)
    store = LazyStore(f"sqlite:///{tmp_path / 'support.db'}")
    return WhatsAppSender(settings, store, "", RetryPolicy(base_delay=0.01))


def run(whatsapp: WhatsAppSender, text: str, last_inbound_hours_ago: float | None) -> ChannelStore:
    async def main() -> ChannelStore:
        store = await whatsapp.store.get()
        if last_inbound_hours_ago is not None:
            moment = utcnow() - timedelta(hours=last_inbound_hours_ago)
            store.set_last_inbound("whatsapp", CUSTOMER, moment)
        await WhatsAppOutput(whatsapp).send_text_message(CUSTOMER, text)
        await whatsapp.close()
        return store

    return asyncio.run(main())


def test_inside_the_window_the_message_is_sent(twilio: FakeTwilio, tmp_path: Path) -> None:
    store = run(sender(twilio, tmp_path), "Hallo!", 23)
    [call] = twilio.calls_of("messages")
    assert (call.params["To"], call.params["From"]) == (CUSTOMER, FROM)
    assert call.params["Body"] == "Hallo!"
    assert "StatusCallback" not in call.params  # no PUBLIC_BASE_URL, no callback
    assert store.deliveries_for("whatsapp", CUSTOMER)[0].status == "queued"


@pytest.mark.parametrize("hours_ago", [None, 25])
def test_outside_the_window_without_template_nothing_is_sent(
    twilio: FakeTwilio, tmp_path: Path, hours_ago: float | None
) -> None:
    store = run(sender(twilio, tmp_path), "Deine Erstattung ist raus.", hours_ago)
    assert twilio.calls == []
    [delivery] = store.deliveries_for("whatsapp", CUSTOMER)
    assert (delivery.status, delivery.reason) == ("failed", "whatsapp_24h_window")
    assert delivery.text == "Deine Erstattung ist raus."
    assert "24-Stunden-Fensters" in DeliveryReason(delivery.reason).label


def test_provider_window_error_is_final_and_recorded(twilio: FakeTwilio, tmp_path: Path) -> None:
    twilio.fail_messages(400, 63016, "Failed to send freeform message outside the window")
    store = run(sender(twilio, tmp_path), "Hallo!", 1)
    assert len(twilio.calls) == 1  # a 4xx is not retried
    [delivery] = store.deliveries_for("whatsapp", CUSTOMER)
    assert (delivery.status, delivery.reason, delivery.error_code) == (
        "failed", "whatsapp_24h_window", "63016"
    )
    assert store.contact("whatsapp", CUSTOMER).last_inbound_at is None


def test_opted_out_customers_get_nothing(twilio: FakeTwilio, tmp_path: Path) -> None:
    whatsapp = sender(twilio, tmp_path)

    async def main() -> ChannelStore:
        store = await whatsapp.store.get()
        store.touch_contact("whatsapp", CUSTOMER)
        store.set_opted_out("whatsapp", CUSTOMER, True)
        await WhatsAppOutput(whatsapp).send_image_url(CUSTOMER, "https://example.com/a.png")
        return store

    store = asyncio.run(main())
    assert twilio.calls == []
    assert store.deliveries_for("whatsapp", CUSTOMER)[0].reason == "opted_out"


def test_images_are_sent_as_media(twilio: FakeTwilio, tmp_path: Path) -> None:
    whatsapp = sender(twilio, tmp_path)

    async def main() -> None:
        store = await whatsapp.store.get()
        store.touch_contact("whatsapp", CUSTOMER)
        await WhatsAppOutput(whatsapp).send_image_url(CUSTOMER, "https://example.com/a.png")
        await whatsapp.close()

    asyncio.run(main())
    [call] = twilio.calls_of("messages")
    assert call.params["MediaUrl"] == ["https://example.com/a.png"]


def test_agent_replies_raise_so_the_inbox_can_show_why(
    twilio: FakeTwilio, tmp_path: Path
) -> None:
    whatsapp = sender(twilio, tmp_path)

    async def main() -> None:
        await WhatsAppOutput(whatsapp, raise_on_failure=True).send_text_message(CUSTOMER, "Hi")

    with pytest.raises(DeliveryFailed, match="whatsapp_24h_window: .*24-Stunden"):
        asyncio.run(main())
    assert twilio.calls == []
