"""Folds German spelling variants so that 'Rücksendung', 'ruecksendung' and 'rucksendung' meet.

Customers write without umlauts (ae/oe/ue or plain a/o/u), with 'ss' for 'ß' and in any case.
The component runs after the tokenizer and rewrites each token's lemma (which the
CountVectorsFeaturizers read) to a folded form; token text and offsets stay untouched, so
entity extraction is not affected.
"""

from __future__ import annotations

import re
from typing import Any, Dict, List, Optional

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.constants import TOKENS_NAMES
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

_DIGRAPHS = re.compile(r"(?<=[a-z])(ae|oe|ue)|^(ae|oe|ue)")
_REPEATS = re.compile(r"([a-z])\1{2,}")
_FOLD = str.maketrans({"ä": "a", "ö": "o", "ü": "u", "ß": "s", "é": "e", "è": "e", "à": "a"})


def fold_german(word: str) -> str:
    """A spelling-insensitive key for a German word ('Rücksendeetikett' -> 'rucksendeetikett')."""
    folded = word.lower().replace("ß", "ss").translate(_FOLD)
    folded = _DIGRAPHS.sub(lambda m: (m.group(1) or m.group(2))[0], folded)
    return _REPEATS.sub(r"\1\1", folded)


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=False)
class GermanTokenNormalizer(GraphComponent):
    """Rewrites token lemmas to :func:`fold_german` of the lemma (umlauts, ß, case, 'sooo')."""

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        return {"attributes": ["text"]}

    def __init__(self, config: Dict[str, Any]) -> None:
        self._attributes: List[str] = list(config.get("attributes") or ["text"])

    @classmethod
    def create(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "GermanTokenNormalizer":
        return cls(config)

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
