"""LinearIntentClassifier: trained on real (small) data, persisted, loaded, classifying."""

from __future__ import annotations

from pathlib import Path

from rasa.shared.nlu.training_data.message import Message

from bot.nlu.intent_classifier import LinearIntentClassifier
from tests.nlu._data import context, resource, storage, training_data


def test_trains_persists_and_classifies_like_a_rasa_intent_classifier(tmp_path: Path) -> None:
    model_storage = storage(tmp_path)
    trainer = LinearIntentClassifier.create(
        LinearIntentClassifier.get_default_config(), model_storage, resource("intent"), context()
    )
    trained_resource = trainer.train(training_data())
    loaded = LinearIntentClassifier.load(
        LinearIntentClassifier.get_default_config(), model_storage, trained_resource, context()
    )
    messages = [Message({"text": "Was kostet bei euch der Versand?"}),
                Message({"text": "tschüssi"})]
    loaded.process(messages)
    faq, bye = (m.as_dict(only_output_properties=True) for m in messages)
    assert faq["intent"]["name"] == "faq"  # the retrieval intent, not faq/shipping_costs
    assert bye["intent"]["name"] == "goodbye"
    ranking = faq["intent_ranking"]
    assert {entry["name"] for entry in ranking} == {"faq", "greet", "goodbye"}
    assert ranking[0] == faq["intent"]
    assert abs(sum(entry["confidence"] for entry in ranking) - 1) < 1e-6


def test_an_empty_message_gets_no_intent(tmp_path: Path) -> None:
    classifier = LinearIntentClassifier.create({}, storage(tmp_path), resource("i"), context())
    classifier.train(training_data())
    message = Message({"text": ""})
    classifier.process([message])
    assert message.get("intent") == {"name": None, "confidence": 0.0}
    assert message.get("intent_ranking") == []


def test_an_untrained_model_loads_as_empty(tmp_path: Path) -> None:
    loaded = LinearIntentClassifier.load({}, storage(tmp_path), resource("never"), context())
    message = Message({"text": "hallo"})
    loaded.process([message])
    assert message.get("intent") == {"name": None, "confidence": 0.0}
