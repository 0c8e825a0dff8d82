"""Intent classification with :class:`bot.nlu.linear_model.LinearTextClassifier`.

Replaces DIET: trains in seconds instead of minutes and needs no TensorFlow model. Writes
``intent`` and ``intent_ranking`` exactly like Rasa's classifiers, so FallbackClassifier,
the policies and our evaluation read it unchanged. A retrieval intent (``faq/<topic>``)
counts as its base intent (``faq``); the topic is the FAQ selector's job.
"""

from __future__ import annotations

from typing import Any, Dict, List

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu._component import LINEAR_DEFAULTS, LinearComponent


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class LinearIntentClassifier(LinearComponent, IntentClassifier):
    """Logistic regression on tf-idf word and character n-grams of the folded text."""

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        return {**LINEAR_DEFAULTS, "C": 50.0}

    def train(self, training_data: TrainingData) -> Resource:
        examples = [m for m in training_data.intent_examples if m.get(TEXT)]
        self.model.fit([str(m.get(TEXT)) for m in examples], [str(m.get(INTENT)) for m in examples])
        return self.persist()

    def process(self, messages: List[Message]) -> List[Message]:
        length = int(self._config["ranking_length"])
        for message in messages:
            ranking = self.model.ranking(str(message.get(TEXT) or ""), length)
            if not ranking or not message.get(TEXT):
                intent: Dict[str, Any] = {"name": None, "confidence": 0.0}
                ranking = []
            else:
                intent = {"name": ranking[0][0], "confidence": ranking[0][1]}
            message.set(INTENT, intent, add_to_output=True)
            message.set(
                INTENT_RANKING_KEY,
                [{"name": name, "confidence": confidence} for name, confidence in ranking],
                add_to_output=True,
            )
        return messages
