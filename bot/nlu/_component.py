"""What our Rasa graph components share: creation from the config, and for the two linear
models, storing and loading one :class:`LinearTextClassifier` in the model archive.
"""

from __future__ import annotations

import json
from typing import Any, Collection, Dict, List, Optional, Tuple, Type, TypeVar

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY
from rasa.shared.nlu.training_data.message import Message

from bot.nlu.linear_model import LinearTextClassifier, ModelSettings

# Hyper-parameters both linear components read (ModelSettings.from_config) unless set.
LINEAR_DEFAULTS: Dict[str, Any] = {
    "word_ngrams": [1, 1],
    "char_ngrams": [2, 5],
    "class_weight": "balanced",
    "max_iter": 3000,
    "random_seed": 42,
    "ranking_length": 10,
}

ConfigOnly = TypeVar("ConfigOnly", bound="ConfigOnlyComponent")
Linear = TypeVar("Linear", bound="LinearComponent")


def reread_as(message: Message, name: str) -> None:
    """Read ``message`` as intent ``name`` (same confidence), first in the intent ranking."""
    reading = {"name": name, "confidence": (message.get(INTENT) or {}).get("confidence", 1.0)}
    message.data[INTENT] = reading
    ranking = [r for r in message.get(INTENT_RANKING_KEY) or [] if r.get("name") != name]
    message.data[INTENT_RANKING_KEY] = [dict(reading), *ranking]


def next_reading(message: Message, skip: Collection[str]) -> Optional[Tuple[str, float]]:
    """The likeliest intent of the ranking that is not in ``skip``: (name, confidence)."""
    for entry in message.get(INTENT_RANKING_KEY) or []:
        name = str(entry.get("name"))
        if name not in skip:
            return name, float(entry.get("confidence") or 0.0)
    return None


class ConfigOnlyComponent(GraphComponent):
    """A component that needs nothing but its configuration (nothing trained or stored)."""

    def __init__(self, config: Dict[str, Any]) -> None:
        self._config = {**self.get_default_config(), **config}

    @classmethod
    def create(
        cls: Type[ConfigOnly],
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> ConfigOnly:
        return cls(config)


class LinearComponent(GraphComponent):
    """A component around one trained :class:`LinearTextClassifier`.

    Subclasses train ``self.model`` and call :meth:`persist` with whatever else they need at
    run time (JSON, in :attr:`EXTRA_FILE`); :meth:`restore` gets it back when the model is loaded.
    """

    EXTRA_FILE = "extra.json"

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
        cls: Type[Linear],
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> Linear:
        return cls(config, model_storage, resource)

    @classmethod
    def load(
        cls: Type[Linear],
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> Linear:
        try:
            with model_storage.read_from(resource) as directory:
                model = LinearTextClassifier.load(directory)
                extra_file = directory / cls.EXTRA_FILE
                extra = (json.loads(extra_file.read_text(encoding="utf-8"))
                         if extra_file.exists() else {})
        except (ValueError, OSError):
            return cls(config, model_storage, resource)  # nothing was trained
        component = cls(config, model_storage, resource, model)
        component.restore(dict(extra))
        return component

    def persist(self, extra: Optional[Dict[str, Any]] = None) -> Resource:
        """Store the trained model (and ``extra``) in the model archive."""
        with self._storage.write_to(self._resource) as directory:
            self.model.save(directory)
            if extra is not None:
                (directory / self.EXTRA_FILE).write_text(json.dumps(extra, ensure_ascii=False),
                                                     encoding="utf-8")
        return self._resource

    def restore(self, extra: Dict[str, Any]) -> None:
        """Take back what :meth:`persist` stored besides the model (nothing by default)."""
