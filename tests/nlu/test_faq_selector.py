"""LinearResponseSelector writes what Rasa's ResponseSelector writes (a contract)."""

from __future__ import annotations

from pathlib import Path

from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLReader
from rasa.shared.nlu.training_data.message import Message

from bot.nlu.answer_guard import AnswerConfidenceGuard
from bot.nlu.faq_selector import LinearResponseSelector
from tests.nlu._data import NLU_YAML, RESPONSES, context, resource, storage, training_data


def _trained(tmp_path: Path) -> LinearResponseSelector:
    model_storage = storage(tmp_path)
    config = LinearResponseSelector.get_default_config()
    trainer = LinearResponseSelector.create(config, model_storage, resource("faq"), context())
    trained_resource = trainer.train(training_data())
    return LinearResponseSelector.load(config, model_storage, trained_resource, context())


def test_output_has_the_response_selector_shape(tmp_path: Path) -> None:
    selector = _trained(tmp_path)
    message = Message({"text": "wie teuer ist der versand nach österreich"})
    selector.process([message])
    output = message.as_dict(only_output_properties=True)["response_selector"]
    assert output["all_retrieval_intents"] == ["faq"]
    response = output["faq"]["response"]
    assert response["intent_response_key"] == "faq/shipping_costs"
    assert response["utter_action"] == "utter_faq/shipping_costs"
    assert response["responses"] == RESPONSES["utter_faq/shipping_costs"]
    ranking = output["faq"]["ranking"]
    assert ranking[0] == {"confidence": response["confidence"],
                          "intent_response_key": "faq/shipping_costs"}
    assert {entry["intent_response_key"] for entry in ranking} == {
        "faq/shipping_costs", "faq/returns", "faq/payment_methods"
    }
    assert abs(sum(entry["confidence"] for entry in ranking) - 1) < 1e-6


def test_spelling_variants_get_the_same_answer(tmp_path: Path) -> None:
    selector = _trained(tmp_path)
    messages = [Message({"text": t}) for t in ("Rücksendung bitte", "ruecksendung bitte")]
    selector.process(messages)
    first, second = (m.get("response_selector")["faq"] for m in messages)
    assert first["response"]["intent_response_key"] == "faq/returns"
    assert first == second


def test_answer_guard_falls_back_on_an_unsure_answer(tmp_path: Path) -> None:
    selector = _trained(tmp_path)
    guard = AnswerConfidenceGuard({"retrieval_intent": "faq", "threshold": 0.9, "margin": 0.0})
    unsure = Message({"text": "hm ja also"})
    unsure.set("intent", {"name": "faq", "confidence": 0.9}, add_to_output=True)
    sure = Message({"text": "wie funktioniert die rücksendung"})
    sure.set("intent", {"name": "faq", "confidence": 0.9}, add_to_output=True)
    guard.process(selector.process([unsure, sure]))
    assert unsure.get("intent")["name"] == "nlu_fallback"
    assert unsure.get("answer_guard")["reason"] == "low_answer_confidence"
    assert len(unsure.get("answer_guard")["candidates"]) == 3
    assert sure.get("intent")["name"] == "faq"


def test_two_questions_about_two_topics_are_not_answered_as_one(tmp_path: Path) -> None:
    selector = _trained(tmp_path)
    guard = AnswerConfidenceGuard({"threshold": 0.2, "margin": 0.0})
    message = Message({"text": "was kostet der versand? und kann ich mit paypal bezahlen",
                       "intent": {"name": "faq", "confidence": 0.99}})
    guard.process(selector.process([message]))
    output = message.as_dict(only_output_properties=True)
    parts = output["response_selector"]["faq"]["questions"]
    assert [p["intent_response_key"] for p in parts] == ["faq/shipping_costs",
                                                         "faq/payment_methods"]
    assert message.get("intent")["name"] == "nlu_fallback"
    assert output["answer_guard"]["reason"] == "several_questions"
    assert [c["topic"] for c in output["answer_guard"]["candidates"]] == [
        "faq/shipping_costs", "faq/payment_methods"
    ]


def test_one_question_with_a_story_stays_one_answer(tmp_path: Path) -> None:
    selector = _trained(tmp_path)
    message = Message({"text": "ich hab gestern bestellt. was kostet der versand nach österreich?"})
    selector.process([message])
    assert "questions" not in message.get("response_selector")["faq"]


NEAR_MISSES = """
- intent: out_of_scope
  examples: |
    - was kostet der versand bei amazon
    - wie teuer ist die lieferung bei zalando
    - versandkosten bei globetrotter
    - porto für briefe bei der post
    - wie kann ich bei ebay bezahlen
    - rücksendung bei decathlon
"""


def _trained_with_background(tmp_path: Path, background: list[str]) -> LinearResponseSelector:
    data = RasaYAMLReader().reads(NLU_YAML + NEAR_MISSES)
    data.responses = dict(RESPONSES)
    directory = tmp_path / "-".join(background or ["none"])
    directory.mkdir()
    model_storage = storage(directory)
    config = {**LinearResponseSelector.get_default_config(), "background_intents": background}
    trainer = LinearResponseSelector.create(config, model_storage, resource("faq"), context())
    trained_resource = trainer.train(data)
    return LinearResponseSelector.load(config, model_storage, trained_resource, context())


def test_a_near_miss_question_is_not_answered_when_background_intents_are_learnt(
    tmp_path: Path,
) -> None:
    guard = AnswerConfidenceGuard({"threshold": 0.5, "margin": 0.3})

    def outcome(selector: LinearResponseSelector, text: str) -> Message:
        message = Message({"text": text, "intent": {"name": "faq", "confidence": 0.99}})
        guard.process(selector.process([message]))
        return message

    plain = _trained_with_background(tmp_path, [])
    learnt = _trained_with_background(tmp_path, ["out_of_scope"])
    near_miss = "was kostet der versand bei otto"
    # Without the background class the other shop's shipping costs get our price list …
    assert outcome(plain, near_miss).get("intent")["name"] == "faq"
    # … with it the bot asks back instead, and "no topic" is never offered as an answer.
    unsure = outcome(learnt, near_miss)
    assert unsure.get("intent")["name"] == "nlu_fallback"
    ranking = unsure.get("response_selector")["faq"]["ranking"]
    assert {entry["intent_response_key"] for entry in ranking} == {
        "faq/shipping_costs", "faq/returns", "faq/payment_methods"
    }
    # Our own questions are still answered.
    sure = outcome(learnt, "was kostet der versand nach österreich")
    assert sure.get("intent")["name"] == "faq"
    assert sure.get("response_selector")["faq"]["response"]["utter_action"] == (
        "utter_faq/shipping_costs")
