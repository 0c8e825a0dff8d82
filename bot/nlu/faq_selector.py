"""FAQ answer selection with :class:`bot.nlu.linear_model.LinearTextClassifier`.

Replaces Rasa's ResponseSelector (10 minutes of TensorFlow training, 150 MB of weights) with a
logistic regression that trains in seconds. The output is the ResponseSelector's, key for key
(``rasa/nlu/selectors/response_selector.py``)::

    response_selector:
      all_retrieval_intents: [faq]
      faq:
        response: {responses, confidence, intent_response_key: faq/<topic>,
                   utter_action: utter_faq/<topic>}
        ranking: [{confidence, intent_response_key}, …]   # best first

so ``ActionRetrieveResponse`` (``utter_faq`` → ``utter_faq/<topic>``), AnswerConfidenceGuard
and the evaluation keep working. Confidences are calibrated probabilities over the topics
(they sum to 1 over all topics), which is what the guard's threshold and margin compare. With
``background_intents`` the model also learns a "no topic" class from those intents' examples:
it is never answered nor listed, it only keeps its share of the probability, so a near-miss
question leaves every topic unsure.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.constants import (
    RESPONSE_SELECTOR_PREDICTION_KEY,
    RESPONSE_SELECTOR_PROPERTY_NAME,
    RESPONSE_SELECTOR_RANKING_KEY,
    RESPONSE_SELECTOR_RESPONSES_KEY,
    RESPONSE_SELECTOR_RETRIEVAL_INTENTS,
    RESPONSE_SELECTOR_UTTER_ACTION_KEY,
)
from rasa.shared.nlu.constants import INTENT, INTENT_RESPONSE_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu._component import LINEAR_DEFAULTS, LinearComponent
from bot.nlu._questions import questions
from bot.nlu.linear_model import LinearTextClassifier

# Under response_selector.faq: the question parts of a message that asks several things.
QUESTIONS_KEY = "questions"
# The label of the "no topic" class learnt from ``background_intents`` (never answered).
NO_TOPIC = "<no topic>"


def utter_action(intent_response_key: str) -> str:
    """``faq/returns`` → ``utter_faq/returns`` (Rasa's response name for a retrieval answer)."""
    return f"utter_{intent_response_key}"


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class LinearResponseSelector(LinearComponent):
    """Picks the answer of one retrieval intent; output compatible with ResponseSelector."""

    EXTRA_FILE = "selector.json"

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        return {
            "retrieval_intent": "faq",
            # Each topic's answer text is one more training example of that topic: answers
            # name the facts customers ask about ("DHL", "Klarna", "Rücksendeetikett").
            "learn_from_responses": True,
            **LINEAR_DEFAULTS,
            "C": 200.0,
            # Several questions in one message: each question part is read on its own; parts
            # that are this sure of different topics are listed under "questions".
            "question_confidence": 0.6,
            "question_margin": 0.3,
            # Examples of these intents train a "no topic" class: a message that reads like
            # them leaves less confidence for every topic, so the guard asks back instead of
            # answering (near-miss out-of-scope questions).
            "background_intents": [],
        }

    def __init__(
        self,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        model: Optional[LinearTextClassifier] = None,
    ) -> None:
        super().__init__(config, model_storage, resource, model)
        self.retrieval_intent = str(self._config["retrieval_intent"])
        self.responses: Dict[str, List[Dict[str, Any]]] = {}
        self.all_retrieval_intents: List[str] = []

    def restore(self, extra: Dict[str, Any]) -> None:
        self.responses = dict(extra.get("responses") or {})
        self.all_retrieval_intents = list(extra.get("all_retrieval_intents") or [])

    def train(self, training_data: TrainingData) -> Resource:
        self.all_retrieval_intents = sorted(training_data.retrieval_intents)
        examples = [
            m for m in training_data.intent_examples
            if m.get(TEXT) and m.get(INTENT) == self.retrieval_intent
            and m.get(INTENT_RESPONSE_KEY)
        ]
        keys = [str(m.get(INTENT_RESPONSE_KEY)) for m in examples]
        texts = [str(m.get(TEXT)) for m in examples]
        topics = sorted(set(keys))
        self.responses = {
            utter_action(key): list(training_data.responses.get(utter_action(key)) or [])
            for key in topics
        }
        if self._config["learn_from_responses"]:
            for key in topics:
                for response in self.responses[utter_action(key)]:
                    if response.get(TEXT):
                        texts.append(str(response[TEXT]))
                        keys.append(key)
        background = set(self._config["background_intents"] or [])
        for message in training_data.intent_examples:
            if message.get(TEXT) and message.get(INTENT) in background:
                texts.append(str(message.get(TEXT)))
                keys.append(NO_TOPIC)
        self.model.fit(texts, keys)
        return self.persist({"responses": self.responses,
                             "all_retrieval_intents": self.all_retrieval_intents})

    def process(self, messages: List[Message]) -> List[Message]:
        length = int(self._config["ranking_length"])
        for message in messages:
            text = str(message.get(TEXT) or "")
            ranking = self._ranking(text, length) if text else []
            if not ranking:
                continue
            key, confidence = ranking[0]
            action = utter_action(key)
            prediction = {
                RESPONSE_SELECTOR_PREDICTION_KEY: {
                    RESPONSE_SELECTOR_RESPONSES_KEY: self.responses.get(action)
                    or [{TEXT: key}],
                    "confidence": confidence,
                    INTENT_RESPONSE_KEY: key,
                    RESPONSE_SELECTOR_UTTER_ACTION_KEY: action,
                },
                RESPONSE_SELECTOR_RANKING_KEY: [
                    {"confidence": c, INTENT_RESPONSE_KEY: k} for k, c in ranking
                ],
            }
            several = self._several_questions(text)
            if several:
                prediction[QUESTIONS_KEY] = several
            properties = dict(message.get(RESPONSE_SELECTOR_PROPERTY_NAME) or {})
            properties[RESPONSE_SELECTOR_RETRIEVAL_INTENTS] = self.all_retrieval_intents
            properties[self.retrieval_intent] = prediction
            message.set(RESPONSE_SELECTOR_PROPERTY_NAME, properties, add_to_output=True)
        return messages

    def _ranking(self, text: str, length: int) -> List[Tuple[str, float]]:
        """Topics best first; the "no topic" class only takes its share of confidence."""
        ranking = [(k, c) for k, c in self.model.ranking(text, 0) if k != NO_TOPIC]
        return ranking[:length] if length > 0 else ranking

    def _several_questions(self, text: str) -> List[Dict[str, Any]]:
        """The question parts of ``text`` read on their own, if they ask about ≥ 2 topics.

        Each entry: the part's text, its likeliest topic, confidence and whether it is sure
        (``question_confidence`` and ``question_margin`` ahead of its runner-up).
        """
        parts = questions(text)
        if len(parts) < 2:
            return []
        rows = self.model.predict(parts)
        found: List[Dict[str, Any]] = []
        for part, row in zip(parts, rows, strict=True):
            order = [i for i in row.argsort()[::-1] if self.model.labels[int(i)] != NO_TOPIC]
            top = float(row[order[0]])
            runner_up = float(row[order[1]]) if len(order) > 1 else 0.0
            found.append({
                TEXT: part,
                INTENT_RESPONSE_KEY: self.model.labels[int(order[0])],
                "confidence": top,
                "sure": top >= float(self._config["question_confidence"])
                and top - runner_up >= float(self._config["question_margin"]),
            })
        if len({entry[INTENT_RESPONSE_KEY] for entry in found}) < 2:
            return []
        return found
