"""action_handle_fallback's ask-back buttons (actions/fallback.py), on rasa-sdk trackers."""

from __future__ import annotations

from actions.fallback import ActionHandleFallback
from tests.actions.test_followup import conversation, run, user


def test_a_vague_message_gets_only_topics_worth_a_guess() -> None:
    vague = user("kurze frage", "nlu_fallback", [("contact", 0.25), ("jobs", 0.03)])
    messages, _ = run(ActionHandleFallback(), conversation(vague))
    [message] = messages
    assert message["response"] == "utter_ask_back"
    assert [b["title"] for b in message["buttons"]] == [
        "Kundenservice erreichen", "Mit einem Menschen sprechen"]


def test_no_likely_topic_asks_to_rephrase_with_the_person_button() -> None:
    vague = user("das mit dem ding von neulich", "nlu_fallback",
                 [("voucher", 0.05), ("newsletter", 0.04)])
    messages, _ = run(ActionHandleFallback(), conversation(vague))
    [message] = messages
    assert message["response"] == "utter_ask_rephrase"
    assert [b["title"] for b in message["buttons"]] == ["Mit einem Menschen sprechen"]
