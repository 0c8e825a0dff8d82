"""Turns an unsure FAQ answer into a fallback.

Stock Rasa only checks the *intent* confidence (FallbackClassifier). For a retrieval intent
that is often 1.0 while the ResponseSelector picked the answer with 0.2 (rasa#9751): the bot
would confidently give a wrong answer. This component looks at the selector's ranking and,
when the top answer is below ``threshold`` or less than ``margin`` ahead of the runner-up,
replaces the intent by ``nlu_fallback`` and records why under ``answer_guard`` in the parse
data (reason, confidence, top candidates), so the dialogue can ask back or hand over.
"""

from __future__ import annotations

from typing import Any, Dict, List

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.constants import DEFAULT_NLU_FALLBACK_INTENT_NAME
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY
from rasa.shared.nlu.training_data.message import Message

ANSWER_GUARD_KEY = "answer_guard"
RESPONSE_SELECTOR_KEY = "response_selector"


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False
)
class AnswerConfidenceGuard(GraphComponent):
    """Fallback for low-confidence or ambiguous ResponseSelector answers."""

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        return {"retrieval_intent": "faq", "threshold": 0.5, "margin": 0.1, "candidates": 3}

    def __init__(self, config: Dict[str, Any]) -> None:
        self.retrieval_intent: str = config.get("retrieval_intent", "faq")
        self.threshold = float(config.get("threshold", 0.5))
        self.margin = float(config.get("margin", 0.1))
        self.candidates = int(config.get("candidates", 3))

    @classmethod
    def create(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "AnswerConfidenceGuard":
        return cls(config)

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            self._guard(message)
        return messages

    def _guard(self, message: Message) -> None:
        intent = message.get(INTENT) or {}
        if intent.get("name") != self.retrieval_intent:
            return
        selectors = message.get(RESPONSE_SELECTOR_KEY) or {}
        selector = selectors.get(self.retrieval_intent) or selectors.get("default")
        if not selector:
            return
        ranking: List[Dict[str, Any]] = selector.get("ranking") or []
        top = float(selector.get("response", {}).get("confidence") or 0.0)
        runner_up = float(ranking[1]["confidence"]) if len(ranking) > 1 else 0.0
        if top >= self.threshold and top - runner_up >= self.margin:
            return
        fallback = {"name": DEFAULT_NLU_FALLBACK_INTENT_NAME, "confidence": top}
        message.data[INTENT] = fallback
        message.data.setdefault(INTENT_RANKING_KEY, [])
        message.data[INTENT_RANKING_KEY].insert(0, dict(fallback))
        message.set(
            ANSWER_GUARD_KEY,
            {
                "reason": "low_answer_confidence",
                "confidence": top,
                "margin": top - runner_up,
                "candidates": [
                    {"topic": entry["intent_response_key"], "confidence": entry["confidence"]}
                    for entry in ranking[: self.candidates]
                ],
            },
            add_to_output=True,
        )
