"""WhatsApp end to end: fake Twilio API <- real Rasa server with our channel <- signed webhooks."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Callable, List

import pytest
from twilio.request_validator import RequestValidator

from bot.models import utcnow
from tests.channels.fakes import Call
from tests.channels.harness import (
    AUTH_TOKEN,
    PUBLIC_BASE_URL,
    TEMPLATE_SID,
    WHATSAPP_FROM,
    ChannelStack,
    new_whatsapp_number,
    wait_until,
)

pytestmark = pytest.mark.slow

HANDOFF = "an mein Team weiter"


def to(number: str) -> Callable[[Call], bool]:
    return lambda call: call.params.get("To") == number


def bodies(calls: List[Call]) -> List[str]:
    return [str(c.params.get("Body", "")) for c in calls]


def quiet_for(channels: ChannelStack, number: str, seconds: float = 2.0) -> List[Call]:
    time.sleep(seconds)
    return channels.twilio.calls_of("messages", to(number))


def test_signed_message_gets_a_german_answer(channel_stack: ChannelStack) -> None:
    number = new_whatsapp_number()
    assert channel_stack.post_whatsapp(channel_stack.whatsapp_message(number, "Hallo!")) == 200
    [answer] = channel_stack.twilio.wait_for_messages(to(number))
    assert "Paula" in answer.params["Body"]
    assert answer.params["From"] == WHATSAPP_FROM
    assert answer.params["StatusCallback"] == PUBLIC_BASE_URL + "/webhooks/whatsapp/status"


def test_forged_or_missing_signature_is_refused_and_nothing_processed(
    channel_stack: ChannelStack,
) -> None:
    number = new_whatsapp_number()
    params = channel_stack.whatsapp_message(number, "Hallo!")
    forged = RequestValidator("not-the-auth-token").compute_signature(
        PUBLIC_BASE_URL + "/webhooks/whatsapp/webhook", params
    )
    assert channel_stack.post_whatsapp(params, signature=forged) == 403
    assert channel_stack.post_whatsapp(params, sign=False) == 403
    tampered = dict(params, Body="Ich will einen Menschen")
    good_for_original = RequestValidator(AUTH_TOKEN).compute_signature(
        PUBLIC_BASE_URL + "/webhooks/whatsapp/webhook", params
    )
    assert channel_stack.post_whatsapp(tampered, signature=good_for_original) == 403
    assert quiet_for(channel_stack, number) == []
    # Nothing was remembered: the genuine request is still answered.
    assert channel_stack.post_whatsapp(params) == 200
    channel_stack.twilio.wait_for_messages(to(number))


def test_redelivered_message_is_answered_once(channel_stack: ChannelStack) -> None:
    number = new_whatsapp_number()
    params = channel_stack.whatsapp_message(number, "Hallo!")
    assert [channel_stack.post_whatsapp(params) for _ in range(3)] == [200, 200, 200]
    channel_stack.twilio.wait_for_messages(to(number))
    assert len(quiet_for(channel_stack, number, 3)) == 1


def test_buttons_become_numbers_and_a_number_picks_the_button(
    channel_stack: ChannelStack,
) -> None:
    number = new_whatsapp_number()
    channel_stack.post_whatsapp(channel_stack.whatsapp_message(number, "Hallo!"))
    channel_stack.twilio.wait_for_messages(to(number))
    buttons = [
        {"title": "Lieferzeit", "payload": "Wie lange dauert die Lieferung?"},
        {"title": "Rücksendung", "payload": "Wie kann ich etwas zurückschicken?"},
        {"title": "Mit einem Menschen sprechen", "payload": "/request_human"},
    ]
    assert channel_stack.agent_reply(number, "Meinst du eines davon?", buttons) == 200
    calls = channel_stack.twilio.wait_for_messages(to(number), count=2)
    assert bodies(calls)[-1] == (
        "Meinst du eines davon?\n\n1. Lieferzeit\n2. Rücksendung\n"
        "3. Mit einem Menschen sprechen\n\nAntworte mit 1, 2 oder 3."
    )
    channel_stack.post_whatsapp(channel_stack.whatsapp_message(number, "3"))
    calls = channel_stack.twilio.wait_for_messages(to(number), count=3)
    assert HANDOFF in bodies(calls)[-1]


def test_photo_is_kept_for_the_agent_and_explained(channel_stack: ChannelStack) -> None:
    number = new_whatsapp_number()
    media_url = "https://api.twilio.com/2010-04-01/Accounts/AC/Messages/MM1/Media/ME1"
    params = channel_stack.whatsapp_message(
        number, "", NumMedia="1", MediaUrl0=media_url, MediaContentType0="image/jpeg"
    )
    channel_stack.post_whatsapp(params)
    [answer] = channel_stack.twilio.wait_for_messages(to(number))
    assert "Foto" in answer.params["Body"]
    media = channel_stack.store.media_for("whatsapp", number)
    assert [(m.kind, m.reference, m.content_type) for m in media] == [
        ("photo", media_url, "image/jpeg")
    ]
    def photos() -> list:
        events = channel_stack.stack.tracker(number)["events"]
        return [e for e in events if e["event"] == "user" and e["text"] == "[Foto]"]

    wait_until(lambda: bool(photos()))  # the tracker is saved just after the answer went out
    [photo] = photos()
    assert photo["metadata"]["media"][0]["reference"] == media_url


def test_location_gets_an_explanation(channel_stack: ChannelStack) -> None:
    number = new_whatsapp_number()
    params = channel_stack.whatsapp_message(
        number, "", Latitude="48.137", Longitude="11.575", Address="Marienplatz"
    )
    channel_stack.post_whatsapp(params)
    [answer] = channel_stack.twilio.wait_for_messages(to(number))
    assert "Standort" in answer.params["Body"]


@pytest.mark.parametrize(("status", "code"), [(500, 20500), (429, 20429)])
def test_provider_errors_are_retried(channel_stack: ChannelStack, status: int, code: int) -> None:
    number = new_whatsapp_number()
    channel_stack.twilio.fail_messages(status, code, "try again", times=2, to=number)
    channel_stack.post_whatsapp(channel_stack.whatsapp_message(number, "Hallo!"))
    [answer] = channel_stack.twilio.wait_for_messages(to(number))
    assert "Paula" in answer.params["Body"]
    wait_until(lambda: bool(channel_stack.store.deliveries_for("whatsapp", number)))
    [delivery] = channel_stack.store.deliveries_for("whatsapp", number)
    assert delivery.status == "queued" and delivery.provider_message_id == answer.params["Sid"]
    assert delivery.attempts == 3


def test_final_failure_is_recorded_with_its_reason(channel_stack: ChannelStack) -> None:
    number = new_whatsapp_number()
    channel_stack.twilio.fail_messages(500, 20500, "down", times=10, to=number)
    channel_stack.post_whatsapp(channel_stack.whatsapp_message(number, "Hallo!"))
    wait_until(
        lambda: [d.status for d in channel_stack.store.deliveries_for("whatsapp", number)]
        == ["failed"],
        timeout=30,
    )
    [delivery] = channel_stack.store.deliveries_for("whatsapp", number)
    assert delivery.reason == "provider_unavailable" and delivery.attempts == 4
    assert "Paula" in (delivery.text or "")


def test_long_agent_reply_is_split_at_1600_characters(channel_stack: ChannelStack) -> None:
    number = new_whatsapp_number()
    channel_stack.post_whatsapp(channel_stack.whatsapp_message(number, "Hallo!"))
    channel_stack.twilio.wait_for_messages(to(number))
    text = ("Deine Rücksendung ist angekommen und wird geprüft. " * 70).strip()
    assert channel_stack.agent_reply(number, text) == 200
    calls = channel_stack.twilio.wait_for_messages(to(number), count=4)
    parts = bodies(calls[1:])
    assert len(parts) == 3 and all(len(p) <= 1600 and p.endswith(".") for p in parts)
    assert " ".join(parts) == text


def test_status_callbacks_are_recorded(channel_stack: ChannelStack) -> None:
    number = new_whatsapp_number()
    channel_stack.post_whatsapp(channel_stack.whatsapp_message(number, "Hallo!"))
    [answer] = channel_stack.twilio.wait_for_messages(to(number))
    sid = answer.params["Sid"]
    wait_until(lambda: bool(channel_stack.store.deliveries_for("whatsapp", number)))
    status_path = "/webhooks/whatsapp/status"
    forged = {"MessageSid": sid, "MessageStatus": "read", "AccountSid": "AC"}
    forged_signature = "bm90IGEgc2lnbmF0dXJl"
    assert channel_stack.post_whatsapp(forged, forged_signature, path=status_path) == 403
    for state in ("sent", "read", "delivered"):  # out of order: "read" stays
        report = {"MessageSid": sid, "MessageStatus": state, "To": number, "From": WHATSAPP_FROM}
        assert channel_stack.post_whatsapp(report, path=status_path) == 204
    assert channel_stack.store.deliveries_for("whatsapp", number)[0].status == "read"

    report = {"MessageSid": sid, "MessageStatus": "failed", "ErrorCode": "63016"}
    assert channel_stack.post_whatsapp(report, path=status_path) == 204
    [delivery] = channel_stack.store.deliveries_for("whatsapp", number)
    assert (delivery.status, delivery.reason, delivery.error_code) == (
        "failed", "whatsapp_24h_window", "63016"
    )
    assert delivery.provider_detail == "Twilio failed 63016"
    assert channel_stack.store.contact("whatsapp", number).last_inbound_at is None


def test_reply_outside_the_24h_window_uses_the_template_and_waits(
    channel_stack: ChannelStack,
) -> None:
    number = new_whatsapp_number()
    channel_stack.post_whatsapp(channel_stack.whatsapp_message(number, "Hallo!"))
    channel_stack.twilio.wait_for_messages(to(number))
    channel_stack.set_last_inbound("whatsapp", number, utcnow() - timedelta(hours=25))

    assert channel_stack.agent_reply(number, "Deine Erstattung ist raus.") == 200
    assert channel_stack.agent_reply(number, "Noch etwas?") == 200
    calls = channel_stack.twilio.wait_for_messages(to(number), count=2)
    assert calls[-1].params.get("ContentSid") == TEMPLATE_SID and "Body" not in calls[-1].params
    assert len(quiet_for(channel_stack, number, 1)) == 2  # one template, not one per message
    held = [d for d in channel_stack.store.deliveries_for("whatsapp", number) if d.status == "held"]
    assert [d.text for d in held] == ["Deine Erstattung ist raus.", "Noch etwas?"]

    # The customer answers the template: the held replies go out first, in order.
    channel_stack.post_whatsapp(channel_stack.whatsapp_message(number, "Danke!"))
    calls = channel_stack.twilio.wait_for_messages(to(number), count=5)
    assert bodies(calls[2:4]) == ["Deine Erstattung ist raus.", "Noch etwas?"]


def test_stop_opts_out_and_start_opts_in(channel_stack: ChannelStack) -> None:
    number = new_whatsapp_number()
    channel_stack.post_whatsapp(channel_stack.whatsapp_message(number, "Hallo!"))
    channel_stack.twilio.wait_for_messages(to(number))
    channel_stack.post_whatsapp(channel_stack.whatsapp_message(number, "STOP"))
    calls = channel_stack.twilio.wait_for_messages(to(number), count=2)
    assert "keine WhatsApp-Nachrichten mehr" in bodies(calls)[-1]

    assert channel_stack.agent_reply(number, "Hallo, hier ist Sam.") == 500
    assert "opted_out" in channel_stack.last_body
    channel_stack.post_whatsapp(channel_stack.whatsapp_message(number, "Hallo?"))
    assert len(quiet_for(channel_stack, number)) == 2  # nothing sent while opted out
    reasons = [d.reason for d in channel_stack.store.deliveries_for("whatsapp", number)]
    assert reasons[-1] == "opted_out"

    channel_stack.post_whatsapp(channel_stack.whatsapp_message(number, "Start"))
    calls = channel_stack.twilio.wait_for_messages(to(number), count=3)
    assert "Willkommen zurück" in bodies(calls)[-1]


def test_template_quick_reply_button_payload_is_understood(channel_stack: ChannelStack) -> None:
    number = new_whatsapp_number()
    params = channel_stack.whatsapp_message(
        number, "Mit einem Menschen sprechen", ButtonPayload="/request_human",
        ButtonText="Mit einem Menschen sprechen",
    )
    channel_stack.post_whatsapp(params)
    [answer] = channel_stack.twilio.wait_for_messages(to(number))
    assert HANDOFF in answer.params["Body"]


def test_typed_intent_syntax_goes_through_nlu(channel_stack: ChannelStack) -> None:
    number = new_whatsapp_number()
    channel_stack.post_whatsapp(channel_stack.whatsapp_message(number, "/greet"))
    channel_stack.twilio.wait_for_messages(to(number))

    def users() -> list:
        return [e for e in channel_stack.stack.tracker(number)["events"] if e["event"] == "user"]

    wait_until(lambda: bool(users()))  # the tracker is saved just after the answer went out
    [user] = users()
    assert user["text"] == "greet"  # the slash is gone: customers cannot inject intents


def test_typed_intent_with_entities_goes_through_nlu(channel_stack: ChannelStack) -> None:
    number = new_whatsapp_number()
    injected = '/order_status{"order_number": "BP-482913", "postal_code": "80331"}'
    channel_stack.post_whatsapp(channel_stack.whatsapp_message(number, injected))
    channel_stack.twilio.wait_for_messages(to(number))

    def users() -> list:
        return [e for e in channel_stack.stack.tracker(number)["events"] if e["event"] == "user"]

    wait_until(lambda: bool(users()))  # the tracker is saved just after the answer went out
    [user] = users()
    assert user["text"] == injected[1:]
    # read by the NLU pipeline (a ranking), not by Rasa's command parser (one intent, slots set)
    assert len(user["parse_data"]["intent_ranking"]) > 1


def test_too_long_message_is_refused_in_german(channel_stack: ChannelStack) -> None:
    number = new_whatsapp_number()
    channel_stack.post_whatsapp(channel_stack.whatsapp_message(number, "Hallo " * 400))
    [answer] = channel_stack.twilio.wait_for_messages(to(number))
    assert "zu lang" in answer.params["Body"] and "2000 Zeichen" in answer.params["Body"]
    events = channel_stack.stack.tracker(number)["events"]
    assert [e for e in events if e["event"] == "user"] == []


def test_oversized_webhook_body_is_refused(channel_stack: ChannelStack) -> None:
    number = new_whatsapp_number()
    params = channel_stack.whatsapp_message(number, "Hallo", Padding="x" * (2 * 1024 * 1024))
    assert channel_stack.post_whatsapp(params) == 413
    assert quiet_for(channel_stack, number, 1) == []


def test_replayed_status_callback_is_not_applied_again(channel_stack: ChannelStack) -> None:
    """A replayed "24-hour window closed" report must not close the window the customer has
    opened again since."""
    number = new_whatsapp_number()
    channel_stack.post_whatsapp(channel_stack.whatsapp_message(number, "Hallo!"))
    [answer] = channel_stack.twilio.wait_for_messages(to(number))
    wait_until(lambda: bool(channel_stack.store.deliveries_for("whatsapp", number)))
    report = {"MessageSid": answer.params["Sid"], "MessageStatus": "failed",
              "ErrorCode": "63016", "To": number, "From": WHATSAPP_FROM}
    status_path = "/webhooks/whatsapp/status"
    assert channel_stack.post_whatsapp(report, path=status_path) == 204
    assert channel_stack.store.contact("whatsapp", number).last_inbound_at is None
    channel_stack.set_last_inbound("whatsapp", number, utcnow())  # the customer wrote again
    assert channel_stack.post_whatsapp(report, path=status_path) == 204  # the replay
    assert channel_stack.store.contact("whatsapp", number).last_inbound_at is not None
