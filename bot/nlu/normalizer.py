"""Folds German spelling variants so that 'Rücksendung', 'ruecksendung' and 'rucksendung' meet.

Customers write without umlauts (ae/oe/ue or plain a/o/u), with 'ss' for 'ß' and in any case.
The component runs after the tokenizer and rewrites each token's lemma (which the
CountVectorsFeaturizers read) to a folded form; token text and offsets stay untouched, so
entity extraction is not affected.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.constants import TOKENS_NAMES
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu._component import ConfigOnlyComponent
from bot.nlu._fold import fold_german


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=False)
class GermanTokenNormalizer(ConfigOnlyComponent):
    """Rewrites token lemmas to :func:`fold_german` of the lemma (umlauts, ß, case, 'sooo')."""

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        return {"attributes": ["text"]}

    def __init__(self, config: Dict[str, Any]) -> None:
        super().__init__(config)
        self._attributes: List[str] = list(self._config.get("attributes") or ["text"])

    def _normalize(self, message: Message) -> None:
        for attribute in self._attributes:
            tokens: Optional[List[Any]] = message.get(TOKENS_NAMES[attribute])
            for token in tokens or []:
                token.lemma = fold_german(token.lemma or token.text)

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        for message in training_data.training_examples:
            self._normalize(message)
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            self._normalize(message)
        return messages
