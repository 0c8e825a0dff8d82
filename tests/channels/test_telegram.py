"""Telegram end to end: fake Bot API <- real Rasa server with our channel <- signed updates."""

from __future__ import annotations

import time
from typing import Callable, List

import pytest

from tests.channels.fakes import Call, telegram_error
from tests.channels.harness import ChannelStack, new_chat_id, wait_until

pytestmark = pytest.mark.slow

HANDOFF = "an mein Team weiter"


def to_chat(chat_id: int) -> Callable[[Call], bool]:
    return lambda call: str(call.params.get("chat_id")) == str(chat_id)


def texts(calls: List[Call]) -> List[str]:
    return [str(c.params.get("text", "")) for c in calls]


def quiet_for(channels: ChannelStack, chat_id: int, seconds: float = 2.0) -> List[Call]:
    time.sleep(seconds)
    return channels.telegram.calls_of("sendMessage", to_chat(chat_id))


def test_text_message_gets_a_german_answer(channel_stack: ChannelStack) -> None:
    chat = new_chat_id()
    assert channel_stack.post_telegram(channel_stack.telegram.text_update(chat, "Hallo!")) == 200
    [answer] = channel_stack.telegram.wait_for("sendMessage", to_chat(chat))
    assert "Paula" in answer.params["text"]


def test_start_command_greets(channel_stack: ChannelStack) -> None:
    chat = new_chat_id()
    channel_stack.post_telegram(channel_stack.telegram.text_update(chat, "/start"))
    [answer] = channel_stack.telegram.wait_for("sendMessage", to_chat(chat))
    assert "Hallo, ich bin Paula" in answer.params["text"]


@pytest.mark.parametrize("secret", [None, "wrong-secret", ""])
def test_missing_or_wrong_secret_is_refused_and_nothing_processed(
    channel_stack: ChannelStack, secret: str
) -> None:
    chat = new_chat_id()
    update = channel_stack.telegram.text_update(chat, "Hallo!")
    assert channel_stack.post_telegram(update, secret=secret) == 403
    assert quiet_for(channel_stack, chat) == []
    # The refused update was not even remembered: delivered properly, it is answered.
    assert channel_stack.post_telegram(update) == 200
    channel_stack.telegram.wait_for("sendMessage", to_chat(chat))


def test_redelivered_update_is_answered_once(channel_stack: ChannelStack) -> None:
    chat = new_chat_id()
    update = channel_stack.telegram.text_update(chat, "Hallo!")
    assert [channel_stack.post_telegram(update) for _ in range(3)] == [200, 200, 200]
    channel_stack.telegram.wait_for("sendMessage", to_chat(chat))
    assert len(quiet_for(channel_stack, chat, 3)) == 1


def test_agent_reply_with_buttons_round_trips(channel_stack: ChannelStack) -> None:
    chat = new_chat_id()
    channel_stack.post_telegram(channel_stack.telegram.text_update(chat, "Hallo!"))
    channel_stack.telegram.wait_for("sendMessage", to_chat(chat))
    long_question = "Wie lange dauert die Lieferung nach Österreich und in die Schweiz?"
    assert len(long_question.encode()) > 64  # longer than Telegram's callback_data
    buttons = [
        {"title": "Lieferzeit", "payload": long_question},
        {"title": "Mit einem Menschen sprechen", "payload": "/request_human"},
    ]
    assert channel_stack.agent_reply(str(chat), "Meinst du eines davon?", buttons) == 200
    calls = channel_stack.telegram.wait_for(
        "sendMessage", lambda c: to_chat(chat)(c) and "reply_markup" in c.params
    )
    keyboard = calls[-1].params["reply_markup"]["inline_keyboard"]
    assert [row[0]["text"] for row in keyboard] == ["Lieferzeit", "Mit einem Menschen sprechen"]
    data = [row[0]["callback_data"] for row in keyboard]
    assert all(len(d.encode()) <= 64 for d in data)

    # Tapping the long-payload button asks the question the payload holds.
    before = len(channel_stack.telegram.calls_of("sendMessage", to_chat(chat)))
    channel_stack.post_telegram(channel_stack.telegram.callback_update(chat, data[0]))
    answers = channel_stack.telegram.wait_for("sendMessage", to_chat(chat), count=before + 1)
    assert "Werktage" in answers[-1].params["text"]
    # Tapping "Mensch" hands over; the spinner of each tap was stopped.
    channel_stack.post_telegram(channel_stack.telegram.callback_update(chat, data[1]))
    answers = channel_stack.telegram.wait_for("sendMessage", to_chat(chat), count=before + 2)
    assert HANDOFF in answers[-1].params["text"]
    assert len(channel_stack.telegram.calls_of("answerCallbackQuery")) >= 2


def test_photo_is_kept_for_the_agent_and_explained(channel_stack: ChannelStack) -> None:
    chat = new_chat_id()
    channel_stack.post_telegram(channel_stack.telegram.photo_update(chat))
    [answer] = channel_stack.telegram.wait_for("sendMessage", to_chat(chat))
    assert "Foto" in answer.params["text"] and "gespeichert" in answer.params["text"]
    media = channel_stack.store.media_for("telegram", str(chat))
    assert [(m.kind, m.reference) for m in media] == [("photo", f"large-{chat}")]
    def photo_turns() -> list:
        events = channel_stack.stack.tracker(str(chat))["events"]
        return [e for e in events if e["event"] == "user" and e["text"] == "[Foto]"]

    wait_until(lambda: bool(photo_turns()))  # the tracker is saved just after the answer
    assert photo_turns()[0]["metadata"]["media"][0]["reference"] == f"large-{chat}"


def test_photo_with_caption_is_understood_and_kept(channel_stack: ChannelStack) -> None:
    chat = new_chat_id()
    update = channel_stack.telegram.photo_update(chat, caption="Hallo!")
    channel_stack.post_telegram(update)
    [answer] = channel_stack.telegram.wait_for("sendMessage", to_chat(chat))
    assert "Paula" in answer.params["text"]
    assert len(channel_stack.store.media_for("telegram", str(chat))) == 1


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ({"voice": {"file_id": "v1", "file_unique_id": "v", "duration": 3}}, "Sprachnachricht"),
        (
            {"sticker": {"file_id": "s1", "file_unique_id": "s", "width": 1, "height": 1,
                         "is_animated": False, "is_video": False, "type": "regular"}},
            "Sticker",
        ),
        ({"location": {"latitude": 48.137, "longitude": 11.575}}, "Standort"),
        ({"document": {"file_id": "d1", "file_unique_id": "d", "file_name": "rechnung.pdf"}},
         "Datei"),
    ],
)
def test_other_media_get_a_german_explanation(
    channel_stack: ChannelStack, content: dict, expected: str
) -> None:
    chat = new_chat_id()
    channel_stack.post_telegram(channel_stack.telegram.message_update(chat, **content))
    [answer] = channel_stack.telegram.wait_for("sendMessage", to_chat(chat))
    assert expected in answer.params["text"]


def test_edited_message_is_answered(channel_stack: ChannelStack) -> None:
    chat = new_chat_id()
    update = channel_stack.telegram.text_update(chat, "Hallo!")
    update["edited_message"] = update.pop("message")
    update["edited_message"]["edit_date"] = update["edited_message"]["date"]
    channel_stack.post_telegram(update)
    channel_stack.telegram.wait_for("sendMessage", to_chat(chat))


def test_group_chats_are_ignored(channel_stack: ChannelStack) -> None:
    chat = -new_chat_id()
    channel_stack.post_telegram(channel_stack.telegram.text_update(chat, "Hallo!", "group"))
    assert quiet_for(channel_stack, chat) == []


def test_rate_limit_is_waited_out_and_retried(channel_stack: ChannelStack) -> None:
    chat = new_chat_id()
    channel_stack.telegram.fail(
        "sendMessage", 429, telegram_error(429, "Too Many Requests: retry after 1", 1),
        match=lambda p: str(p.get("chat_id")) == str(chat),
    )
    channel_stack.post_telegram(channel_stack.telegram.text_update(chat, "Hallo!"))
    [answer] = channel_stack.telegram.wait_for("sendMessage", to_chat(chat))
    refused = channel_stack.telegram.wait_for("sendMessage", to_chat(chat), status=429)
    assert answer.at - refused[0].at >= 0.9  # retry_after honoured
    wait_until(lambda: bool(channel_stack.store.deliveries_for("telegram", str(chat))))
    [delivery] = channel_stack.store.deliveries_for("telegram", str(chat))
    assert (delivery.status, delivery.attempts) == ("sent", 2)


def test_blocked_bot_marks_customer_unreachable_without_crashing(
    channel_stack: ChannelStack,
) -> None:
    chat = new_chat_id()
    channel_stack.telegram.fail(
        "sendMessage", 403, telegram_error(403, "Forbidden: bot was blocked by the user"),
        match=lambda p: str(p.get("chat_id")) == str(chat),
    )
    channel_stack.post_telegram(channel_stack.telegram.text_update(chat, "Hallo!"))
    channel_stack.telegram.wait_for("sendMessage", to_chat(chat), status=403)
    wait_until(lambda: bool(channel_stack.store.deliveries_for("telegram", str(chat))))
    assert channel_stack.store.contact("telegram", str(chat)).unreachable
    # An agent's reply is not hammered at Telegram: the HTTP API call fails with the reason
    # (so the inbox can show it) and the reply does not enter the transcript as sent.
    assert channel_stack.agent_reply(str(chat), "Hallo, hier ist Sam vom Team.") == 500
    assert "blocked" in channel_stack.last_body and "blockiert" in channel_stack.last_body
    events = channel_stack.stack.tracker(str(chat))["events"]
    assert not [e for e in events if e["event"] == "bot" and "Sam" in (e.get("text") or "")]
    failures = [d for d in channel_stack.store.deliveries_for("telegram", str(chat))]
    assert [d.reason for d in failures] == ["blocked", "blocked"]
    assert len(channel_stack.telegram.calls_of("sendMessage", to_chat(chat))) == 1
    # Everyone else is still answered.
    other = new_chat_id()
    channel_stack.post_telegram(channel_stack.telegram.text_update(other, "Hallo!"))
    channel_stack.telegram.wait_for("sendMessage", to_chat(other))


def test_long_agent_reply_is_split_at_sentences(channel_stack: ChannelStack) -> None:
    chat = new_chat_id()
    channel_stack.post_telegram(channel_stack.telegram.text_update(chat, "Hallo!"))
    channel_stack.telegram.wait_for("sendMessage", to_chat(chat))
    sentence = "Dein Paket ist unterwegs und kommt bald an <3 & bleibt _trocken_. "
    text = (sentence * 80).strip()
    assert len(text) > 4096
    assert channel_stack.agent_reply(str(chat), text) == 200
    calls = channel_stack.telegram.wait_for("sendMessage", to_chat(chat), count=3)
    parts = texts(calls[1:])
    assert len(parts) == 2
    assert all(len(part) <= 4096 and part.endswith(".") for part in parts)
    assert " ".join(parts) == text  # nothing lost, nothing escaped
    assert all("parse_mode" not in call.params for call in calls)


def test_blocking_and_unblocking_is_noticed(channel_stack: ChannelStack) -> None:
    chat = new_chat_id()

    def member_update(old: str, new: str) -> dict:
        user = {"id": chat, "is_bot": False, "first_name": "Kim"}
        bot = {"id": 1, "is_bot": True, "first_name": "Paula"}
        return {
            "update_id": channel_stack.telegram.text_update(chat, "x")["update_id"],
            "my_chat_member": {
                "chat": {"id": chat, "type": "private"}, "from": user, "date": int(time.time()),
                "old_chat_member": {"status": old, "user": bot, "until_date": 0},
                "new_chat_member": {"status": new, "user": bot, "until_date": 0},
            },
        }

    assert channel_stack.post_telegram(member_update("member", "kicked")) == 200
    wait_until(lambda: channel_stack.store.contact("telegram", str(chat)).unreachable)
    assert channel_stack.post_telegram(member_update("kicked", "member")) == 200
    wait_until(lambda: not channel_stack.store.contact("telegram", str(chat)).unreachable)
    assert channel_stack.telegram.calls_of("sendMessage", to_chat(chat)) == []


INJECTED = '/order_status{"order_number": "BP-482913", "postal_code": "80331"}'


def test_button_payload_never_offered_is_plain_text(channel_stack: ChannelStack) -> None:
    """callback_data is chosen by the client: an intent with entities nobody offered is text."""
    chat = new_chat_id()
    channel_stack.post_telegram(channel_stack.telegram.callback_update(chat, INJECTED))
    channel_stack.telegram.wait_for("sendMessage", to_chat(chat))
    def users() -> list:
        events = channel_stack.stack.tracker(str(chat))["events"]
        return [e for e in events if e["event"] == "user"]

    wait_until(lambda: bool(users()))  # the tracker is saved just after the answer went out
    [user] = users()
    assert user["text"] == INJECTED[1:]
    # read by the NLU pipeline (a ranking), not by Rasa's command parser (one intent, slots set)
    assert len(user["parse_data"]["intent_ranking"]) > 1


def test_too_long_message_is_refused_in_german(channel_stack: ChannelStack) -> None:
    chat = new_chat_id()
    channel_stack.post_telegram(channel_stack.telegram.text_update(chat, "Hallo " * 400))
    [answer] = channel_stack.telegram.wait_for("sendMessage", to_chat(chat))
    assert "zu lang" in answer.params["text"] and "2000 Zeichen" in answer.params["text"]
    events = channel_stack.stack.tracker(str(chat))["events"]
    assert [e for e in events if e["event"] == "user"] == []


def test_oversized_update_is_refused_before_reading(channel_stack: ChannelStack) -> None:
    chat = new_chat_id()
    update = channel_stack.telegram.text_update(chat, "Hallo")
    update["padding"] = "x" * (2 * 1024 * 1024)
    assert channel_stack.post_telegram(update) == 413
    assert channel_stack.post_telegram(update, secret="wrong") == 403  # secret still first
    assert quiet_for(channel_stack, chat, 1) == []
