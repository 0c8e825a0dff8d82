"""Messenger and Instagram end to end: fake Graph API <- real Rasa server with our channel <-
signed webhooks, as Meta sends them."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any, Callable, Dict, List, Optional

import pytest

from bot.models import utcnow
from channels.delivery import DeliveryReason
from tests.channels.fakes import Call
from tests.channels.harness import ChannelStack, new_chat_id, wait_until

pytestmark = pytest.mark.slow


def to(scoped_id: str) -> Callable[[Call], bool]:
    return lambda call: (call.params.get("recipient") or {}).get("id") == scoped_id


def sent_texts(calls: List[Call]) -> List[str]:
    return [str((c.params.get("message") or {}).get("text", "")) for c in calls]


def quiet_for(channels: ChannelStack, scoped_id: str, seconds: float = 2.0) -> List[Call]:
    time.sleep(seconds)
    return channels.meta.calls_of("messages", to(scoped_id))


def user_texts(channels: ChannelStack, sender: str) -> List[str]:
    events = channels.stack.tracker(sender).get("events") or []
    return [str(e.get("text")) for e in events if e["event"] == "user"]


def new_id() -> str:
    return str(10**15 + new_chat_id())


@pytest.mark.parametrize("platform", ["page", "instagram"])
def test_text_message_gets_a_german_answer(channel_stack: ChannelStack, platform: str) -> None:
    psid = new_id()
    assert channel_stack.post_meta(channel_stack.meta_message(psid, "Hallo!", platform)) == 200
    [answer] = channel_stack.meta.wait_for_messages(to(psid))
    assert "Paula" in sent_texts([answer])[0]
    assert answer.params["messaging_type"] == "RESPONSE"
    prefix = "fb" if platform == "page" else "ig"
    # The tracker is saved after the answer went out: wait for it, then look.
    wait_until(lambda: user_texts(channel_stack, f"{prefix}:{psid}") == ["Hallo!"])


def test_verification_handshake_echoes_the_challenge_only_for_our_token(
    channel_stack: ChannelStack,
) -> None:
    assert channel_stack.meta_handshake("subscribe", channel_stack.meta_verify_token,
                                        "1158201444") == (200, "1158201444")
    assert channel_stack.meta_handshake("subscribe", "wrong", "1158201444")[0] == 403
    assert channel_stack.meta_handshake("unsubscribe", channel_stack.meta_verify_token,
                                        "1158201444")[0] == 403


@pytest.mark.parametrize("signature", [None, "sha256=" + "0" * 64, "", "sha1=abc"])
def test_forged_or_missing_signature_is_refused_and_nothing_processed(
    channel_stack: ChannelStack, signature: Optional[str]
) -> None:
    psid = new_id()
    body = channel_stack.meta_message(psid, "Hallo!")
    assert channel_stack.post_meta(body, signature=signature, sign=signature is not None) == 403
    assert quiet_for(channel_stack, psid) == []
    events = channel_stack.stack.tracker(f"fb:{psid}").get("events") or []
    assert [e for e in events if e["event"] == "user"] == []
    # The refused message was not even remembered: delivered properly, it is answered.
    assert channel_stack.post_meta(body) == 200
    channel_stack.meta.wait_for_messages(to(psid))


def test_body_signed_with_another_secret_is_refused(channel_stack: ChannelStack) -> None:
    psid = new_id()
    body = channel_stack.meta_message(psid, "Hallo!")
    assert channel_stack.post_meta(body, secret="not-our-app-secret") == 403
    assert quiet_for(channel_stack, psid) == []


def test_redelivered_message_is_answered_once(channel_stack: ChannelStack) -> None:
    psid = new_id()
    body = channel_stack.meta_message(psid, "Hallo!")
    assert [channel_stack.post_meta(body) for _ in range(3)] == [200, 200, 200]
    channel_stack.meta.wait_for_messages(to(psid))
    assert len(quiet_for(channel_stack, psid, 3)) == 1


def test_agent_buttons_become_quick_replies_and_a_tap_is_understood(
    channel_stack: ChannelStack,
) -> None:
    psid = new_id()
    channel_stack.post_meta(channel_stack.meta_message(psid, "Hallo!"))
    channel_stack.meta.wait_for_messages(to(psid))
    buttons = [{"title": f"Option Nummer {n} mit langem Titel", "payload": f"/greet{{\"n\": {n}}}"}
               for n in range(15)]
    assert channel_stack.agent_reply(f"fb:{psid}", "Meinst du eines davon?", buttons) == 200
    calls = channel_stack.meta.wait_for_messages(
        lambda c: to(psid)(c) and "quick_replies" in (c.params.get("message") or {})
    )
    replies = calls[-1].params["message"]["quick_replies"]
    assert len(replies) == 13
    assert all(len(r["title"]) <= 20 and r["content_type"] == "text" for r in replies)
    tap = channel_stack.meta_message(psid, replies[0]["title"], quick_reply=replies[0]["payload"])
    assert channel_stack.post_meta(tap) == 200
    wait_until(lambda: replies[0]["payload"] in user_texts(channel_stack, f"fb:{psid}"))


def test_photo_is_kept_for_the_agent_and_explained(channel_stack: ChannelStack) -> None:
    psid = new_id()
    url = f"{channel_stack.meta.url}/media/schaden.png"
    body = channel_stack.meta_message(psid, None, "instagram",
                                      attachments=[{"type": "image", "payload": {"url": url}}])
    assert channel_stack.post_meta(body) == 200
    [answer] = channel_stack.meta.wait_for_messages(to(psid))
    assert "Foto" in sent_texts([answer])[0]
    [media] = channel_stack.store.media_for("meta", f"ig:{psid}")
    assert (media.kind, media.reference) == ("photo", url)


def test_images_are_sent_as_attachments(channel_stack: ChannelStack) -> None:
    psid = new_id()
    channel_stack.post_meta(channel_stack.meta_message(psid, "Hallo!"))
    channel_stack.meta.wait_for_messages(to(psid))
    assert channel_stack.agent_image(f"fb:{psid}", "https://cdn.example.test/retoure.png") == 200
    [call] = channel_stack.meta.wait_for_messages(
        lambda c: to(psid)(c) and "attachment" in (c.params.get("message") or {})
    )
    assert call.params["message"]["attachment"] == {
        "type": "image", "payload": {"url": "https://cdn.example.test/retoure.png",
                                     "is_reusable": False}}


def test_agent_reply_after_24_hours_uses_the_human_agent_tag(
    channel_stack: ChannelStack,
) -> None:
    psid = new_id()
    channel_stack.post_meta(channel_stack.meta_message(psid, "Hallo!"))
    channel_stack.meta.wait_for_messages(to(psid))
    channel_stack.set_last_inbound("meta", f"fb:{psid}", utcnow() - timedelta(days=3))
    assert channel_stack.agent_reply(f"fb:{psid}", "Hier ist Jana, sorry für die Wartezeit.") == 200
    [call] = channel_stack.meta.wait_for_messages(lambda c: to(psid)(c) and "Jana" in str(c.params))
    assert (call.params["messaging_type"], call.params.get("tag")) == ("MESSAGE_TAG",
                                                                      "HUMAN_AGENT")


def test_agent_reply_after_7_days_is_not_sent_and_the_reason_is_recorded(
    channel_stack: ChannelStack,
) -> None:
    psid = new_id()
    channel_stack.post_meta(channel_stack.meta_message(psid, "Hallo!", "instagram"))
    channel_stack.meta.wait_for_messages(to(psid))
    channel_stack.set_last_inbound("meta", f"ig:{psid}", utcnow() - timedelta(days=8))
    assert channel_stack.agent_reply(f"ig:{psid}", "Bist du noch da?") == 500
    assert len(quiet_for(channel_stack, psid, 1)) == 1  # only the first answer
    [failed] = [d for d in channel_stack.store.deliveries_for("meta", f"ig:{psid}")
                if d.status == "failed"]
    assert (failed.text, failed.reason) == ("Bist du noch da?", DeliveryReason.MESSAGING_WINDOW)
    assert "7 Tage" in DeliveryReason(failed.reason).label


def test_stop_opts_out_and_start_opts_in(channel_stack: ChannelStack) -> None:
    psid = new_id()
    channel_stack.post_meta(channel_stack.meta_message(psid, "stop"))
    [confirmation] = channel_stack.meta.wait_for_messages(to(psid))
    assert "keine Nachrichten mehr" in sent_texts([confirmation])[0]
    assert channel_stack.agent_reply(f"fb:{psid}", "Noch eine Frage?") == 500
    assert len(quiet_for(channel_stack, psid, 1)) == 1
    assert [d.reason for d in channel_stack.store.deliveries_for("meta", f"fb:{psid}")
            if d.status == "failed"] == ["opted_out"]
    channel_stack.post_meta(channel_stack.meta_message(psid, "Start"))
    answers = channel_stack.meta.wait_for_messages(to(psid), count=2)
    assert "Willkommen zurück" in sent_texts(answers)[-1]


def test_platform_opt_out_stops_all_messages(channel_stack: ChannelStack) -> None:
    psid = new_id()
    channel_stack.post_meta(channel_stack.meta_message(psid, "Hallo!"))
    channel_stack.meta.wait_for_messages(to(psid))
    assert channel_stack.post_meta(channel_stack.meta_optin(psid, "STOP NOTIFICATIONS")) == 200
    wait_until(lambda: channel_stack.store.contact("meta", f"fb:{psid}").opted_out)
    assert channel_stack.agent_reply(f"fb:{psid}", "Noch eine Frage?") == 500
    assert len(quiet_for(channel_stack, psid, 1)) == 1


def test_typed_intent_syntax_goes_through_nlu(channel_stack: ChannelStack) -> None:
    psid = new_id()
    channel_stack.post_meta(channel_stack.meta_message(psid, "/request_human"))
    channel_stack.meta.wait_for_messages(to(psid))
    # not an intent: the slash is gone
    wait_until(lambda: user_texts(channel_stack, f"fb:{psid}") == ["request_human"])


@pytest.mark.parametrize("body", [
    {"object": "page", "entry": [{"messaging": [{"sender": {"id": "../../etc"},
                                                 "message": {"mid": "m1", "text": "x"}}]}]},
    {"object": "page", "entry": [{"messaging": [{"sender": {"id": "123"},
                                                 "timestamp": 1, "message": {"mid": "m2",
                                                                             "text": "x"}}]}]},
    {"object": "page", "entry": "nope"},
    {"object": "whatsapp_business_account", "entry": []},
    {"object": "page", "entry": [{"messaging": [{"sender": {"id": "123"},
                                                 "message": {"mid": ["m"], "text": "x"}}]}]},
])
def test_hostile_or_unknown_bodies_are_acknowledged_and_ignored(
    channel_stack: ChannelStack, body: Dict[str, Any]
) -> None:
    before = len(channel_stack.meta.calls)
    assert channel_stack.post_meta(body) == 200
    time.sleep(1)
    assert len(channel_stack.meta.calls) == before


def test_not_json_is_a_bad_request(channel_stack: ChannelStack) -> None:
    assert channel_stack.post_meta_raw(b"{not json") == 400


def test_redelivered_instagram_message_with_a_long_id_is_answered_once(
    channel_stack: ChannelStack,
) -> None:
    psid = new_id()
    body = channel_stack.meta_message(psid, "Hallo!", "instagram")
    # Instagram's message ids are long base64 strings sharing a long common prefix.
    mid = "aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjE3ODQxNDAwMDAwMDAwMDAwO" * 3 + psid
    body["entry"][0]["messaging"][0]["message"]["mid"] = mid
    assert [channel_stack.post_meta(body) for _ in range(2)] == [200, 200]
    channel_stack.meta.wait_for_messages(to(psid))
    assert len(quiet_for(channel_stack, psid, 3)) == 1
