"""A "yes" is a short answer: long messages NLU half-heartedly reads as "yes" are asked back."""

from __future__ import annotations

import asyncio
from typing import Any, Dict, List

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.affirm import ActionHandleAffirm


def said(text: str, confidence: float) -> List[Dict[str, Any]]:
    parse = {
        "text": text,
        "intent": {"name": "affirm", "confidence": confidence},
        "intent_ranking": [{"name": "affirm", "confidence": confidence}],
        "entities": [],
    }
    tracker = Tracker(
        sender_id="c1",
        slots={},
        latest_message=parse,
        events=[{"event": "user", "text": text, "parse_data": parse}],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )
    dispatcher = CollectingDispatcher()
    asyncio.run(ActionHandleAffirm().run(dispatcher, tracker, {}))
    return dispatcher.messages


def test_a_plain_yes_is_a_yes() -> None:
    assert [m["response"] for m in said("ja gerne", 0.6)] == ["utter_affirm"]


def test_a_long_message_read_as_yes_without_conviction_is_asked_back() -> None:
    messages = said("hmm ja also wegen dem ding da neulich", 0.61)
    assert [m["response"] for m in messages] in (["utter_ask_back"], ["utter_ask_rephrase"])
    assert messages[0]["buttons"][-1]["payload"] == "/request_human"
