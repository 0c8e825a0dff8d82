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


def _ranked(*ranking: tuple[str, float]) -> Message:
    message = Message({"text": "die stangen sind verbogen angekommen 😡 wie läuft das jetzt"})
    name, confidence = ranking[0]
    message.set("intent", {"name": name, "confidence": confidence}, add_to_output=True)
    message.set("intent_ranking", [{"name": n, "confidence": c} for n, c in ranking],
                add_to_output=True)
    return message


def test_an_unsure_complaint_falls_through_to_a_likely_next_reading() -> None:
    floors = IntentConfidenceFloors({"floors": {"complaint": 0.5}, "fall_through_min": 0.3})
    message = _ranked(("complaint", 0.42), ("faq", 0.4), ("greet", 0.1))
    floors.process([message])
    assert message.get("intent") == {"name": "faq", "confidence": 0.4}


def test_an_unsure_complaint_without_a_likely_next_reading_is_asked_back() -> None:
    floors = IntentConfidenceFloors({"floors": {"complaint": 0.5}, "fall_through_min": 0.3})
    message = _ranked(("complaint", 0.42), ("faq", 0.2), ("greet", 0.15))
    floors.process([message])
    assert message.get("intent")["name"] == "nlu_fallback"


def test_an_unclear_message_never_falls_through() -> None:
    floors = IntentConfidenceFloors({"unclear_intents": ["unclear"], "fall_through_min": 0.3})
    message = _ranked(("unclear", 0.5), ("order_status", 0.45))
    floors.process([message])
    assert message.get("intent")["name"] == "nlu_fallback"
