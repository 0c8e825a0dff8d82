"""IntentConfidenceFloors: an intent below its own floor becomes nlu_fallback."""

from __future__ import annotations

from rasa.shared.nlu.training_data.message import Message

from bot.nlu.intent_floors import IntentConfidenceFloors


def _read_as(name: str, confidence: float) -> Message:
    message = Message({"text": "hm naja, so halt"})
    message.set("intent", {"name": name, "confidence": confidence}, add_to_output=True)
    message.set("intent_ranking", [{"name": name, "confidence": confidence}],
                add_to_output=True)
    return message


def test_an_unsure_complaint_is_asked_back_instead_of_handed_over() -> None:
    floors = IntentConfidenceFloors({"floors": {"complaint": 0.5}})
    unsure, sure = _read_as("complaint", 0.36), _read_as("complaint", 0.8)
    floors.process([unsure, sure])
    assert unsure.get("intent")["name"] == "nlu_fallback"
    assert unsure.get("intent_ranking")[0]["name"] == "nlu_fallback"
    assert [r["name"] for r in unsure.get("intent_ranking")][1] == "complaint"
    assert sure.get("intent") == {"name": "complaint", "confidence": 0.8}


def test_intents_without_a_floor_keep_the_global_threshold() -> None:
    floors = IntentConfidenceFloors({"floors": {"complaint": 0.5}})
    message = _read_as("greet", 0.36)
    floors.process([message])
    assert message.get("intent")["name"] == "greet"


def test_an_unclear_message_is_never_acted_on() -> None:
    floors = IntentConfidenceFloors({"unclear_intents": ["unclear"]})
    message = _read_as("unclear", 0.97)
    floors.process([message])
    assert message.get("intent") == {"name": "nlu_fallback", "confidence": 1.0}
    assert [r["name"] for r in message.get("intent_ranking")][:2] == ["nlu_fallback", "unclear"]
