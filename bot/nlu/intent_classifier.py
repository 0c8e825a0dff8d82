"""Intent classification with :class:`bot.nlu.linear_model.LinearTextClassifier`.

Replaces DIET: trains in seconds instead of minutes and needs no TensorFlow model. Writes
``intent`` and ``intent_ranking`` exactly like Rasa's classifiers, so FallbackClassifier,
the policies and our evaluation read it unchanged. A retrieval intent (``faq/<topic>``)
counts as its base intent (``faq``); the topic is the FAQ selector's job.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu.linear_model import LinearTextClassifier, ModelSettings


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class LinearIntentClassifier(GraphComponent, IntentClassifier):
    """Logistic regression on tf-idf word and character n-grams of the folded text."""

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        return {
            "word_ngrams": [1, 1],
            "char_ngrams": [2, 5],
            "C": 50.0,
            "class_weight": "balanced",
            "max_iter": 3000,
            "random_seed": 42,
            "ranking_length": 10,
        }

    @staticmethod
    def required_packages() -> List[str]:
        return ["sklearn"]

    def __init__(
        self,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        model: Optional[LinearTextClassifier] = None,
    ) -> None:
        self._config = {**self.get_default_config(), **config}
        self._storage = model_storage
        self._resource = resource
        self.model = model or LinearTextClassifier(ModelSettings.from_config(self._config))

    @classmethod
    def create(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "LinearIntentClassifier":
        return cls(config, model_storage, resource)

    @classmethod
    def load(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> "LinearIntentClassifier":
        try:
            with model_storage.read_from(resource) as directory:
                model = LinearTextClassifier.load(directory)
        except (ValueError, OSError):
            return cls(config, model_storage, resource)  # nothing was trained
        return cls(config, model_storage, resource, model)

    def train(self, training_data: TrainingData) -> Resource:
        examples = [m for m in training_data.intent_examples if m.get(TEXT)]
        self.model.fit([str(m.get(TEXT)) for m in examples], [str(m.get(INTENT)) for m in examples])
        with self._storage.write_to(self._resource) as directory:
            self.model.save(directory)
        return self._resource

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
