"""AnswerConfidenceGuard: an unsure FAQ answer is asked back, or read as order status."""

from __future__ import annotations

from rasa.shared.nlu.training_data.message import Message

from bot.nlu.answer_guard import AnswerConfidenceGuard

GUARD = AnswerConfidenceGuard({"threshold": 0.5, "margin": 0.3,
                               "fall_through_intents": ["order_status"],
                               "fall_through_min": 0.3})


def _unsure_faq(runner_up: str, confidence: float) -> Message:
    """Read as FAQ (0.5) without a sure answer (0.14), ``runner_up`` next."""
    message = Message({"text": "will wissen wo meine bestellung grad ist"})
    message.set("intent", {"name": "faq", "confidence": 0.5}, add_to_output=True)
    message.set("intent_ranking", [{"name": "faq", "confidence": 0.5},
                                   {"name": runner_up, "confidence": confidence}],
                add_to_output=True)
    message.set("response_selector", {"faq": {
        "response": {"intent_response_key": "faq/cancel_order", "confidence": 0.14},
        "ranking": [{"intent_response_key": "faq/cancel_order", "confidence": 0.14},
                    {"intent_response_key": "faq/store_locations", "confidence": 0.12}],
    }}, add_to_output=True)
    return message


def test_an_unsure_answer_with_order_status_next_starts_the_lookup() -> None:
    message = _unsure_faq("order_status", 0.49)
    GUARD.process([message])
    assert message.get("intent") == {"name": "order_status", "confidence": 0.49}


def test_an_unsure_answer_with_an_unlikely_order_status_is_asked_back() -> None:
    message = _unsure_faq("order_status", 0.2)
    GUARD.process([message])
    assert message.get("intent")["name"] == "nlu_fallback"
    assert message.get("answer_guard")["reason"] == "low_answer_confidence"


def test_an_unsure_answer_with_another_intent_next_is_asked_back() -> None:
    message = _unsure_faq("out_of_scope", 0.45)
    GUARD.process([message])
    assert message.get("intent")["name"] == "nlu_fallback"
