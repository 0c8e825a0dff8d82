"""EnglishPersonRequests: an English message asking for a person hands over at once."""

from __future__ import annotations

import pytest
from rasa.shared.nlu.training_data.message import Message

from bot.nlu.english_handoff import EnglishPersonRequests


def _read_as(text: str, name: str, confidence: float = 0.8) -> Message:
    message = Message({"text": text})
    message.set("intent", {"name": name, "confidence": confidence}, add_to_output=True)
    message.set("intent_ranking", [{"name": name, "confidence": confidence},
                                   {"name": "request_human", "confidence": 0.1}],
                add_to_output=True)
    return message


@pytest.mark.parametrize("text", [
    "can someone from your team call me back? my number is +44 7700 900123",
    "get me an agent",
    "I need to speak with a person, this is urgent",
    "Is there a real person I can chat with?",
    "please put me through to customer service",
])
def test_an_english_request_for_a_person_hands_over(text: str) -> None:
    message = _read_as(text, "english")
    EnglishPersonRequests({}).process([message])
    assert message.get("intent") == {"name": "request_human", "confidence": 0.8}
    names = [r["name"] for r in message.get("intent_ranking")]
    assert names == ["request_human", "english"]
    assert message.get("written_in_english") is True


@pytest.mark.parametrize("text", [
    "do you speak english?",
    "can we continue in english",
    "how long does shipping to austria take",
    "my jacket is too small, can I exchange it for a bigger size",
])
def test_other_english_messages_keep_the_english_reply(text: str) -> None:
    message = _read_as(text, "english")
    EnglishPersonRequests({}).process([message])
    assert message.get("intent")["name"] == "english"
    assert message.get("written_in_english") is True


def test_german_messages_are_not_re_read() -> None:
    message = _read_as("arbeiten bei euch im laden auch echte agent*innen?", "out_of_scope")
    EnglishPersonRequests({}).process([message])
    assert message.get("intent")["name"] == "out_of_scope"
    assert message.get("written_in_english") is None


@pytest.mark.parametrize("text, english", [
    ("Hi, could someone from your team call me back please?", True),
    ("where is my order BP-123456", True),
    ("Ich will mit einem Menschen sprechen, bitte", False),
    ("kann mich bitte jemand vom team zurückrufen, thanks", False),
    ("i mog mit am menschn redn", False),
    ("hallo, wo ist mein paket?", False),
])
def test_a_message_written_in_english_is_marked_whatever_its_intent(
    text: str, english: bool
) -> None:
    message = _read_as(text, "request_human")
    EnglishPersonRequests({}).process([message])
    assert bool(message.get("written_in_english")) is english
