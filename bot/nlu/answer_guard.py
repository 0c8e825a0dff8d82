"""Turns an unsure FAQ answer into a fallback.

Stock Rasa only checks the *intent* confidence (FallbackClassifier). For a retrieval intent
that is often 1.0 while the ResponseSelector picked the answer with 0.2 (rasa#9751): the bot
would confidently give a wrong answer. This component looks at the selector's ranking and,
when the top answer is below ``threshold`` or less than ``margin`` ahead of the runner-up,
replaces the intent by ``nlu_fallback`` and records why under ``answer_guard`` in the parse
data (reason, confidence, top candidates), so the dialogue can ask back or hand over.

A message that asks several things ("wie lange dauert die lieferung und kann ich mit paypal
zahlen?") must not get one answer as if it covered all: when the selector found question parts
sure of different topics (``questions``), the reason is ``several_questions`` and the candidates
are those topics in the customer's order; ``action_handle_fallback`` answers each.

``fall_through_intents``: when no answer is sure and the next reading of the message is one of
these intents with at least ``fall_through_min`` confidence, the message is read as that intent
instead of being asked back. "will wissen wo meine bestellung grad ist" sounds a little like a
store question (FAQ 0.50, no topic sure) and a lot like order status (0.49): it starts the
order lookup, which the customer can leave at any time.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.shared.constants import DEFAULT_NLU_FALLBACK_INTENT_NAME
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY
from rasa.shared.nlu.training_data.message import Message

from bot.nlu._component import ConfigOnlyComponent, next_reading

ANSWER_GUARD_KEY = "answer_guard"
SEVERAL_QUESTIONS = "several_questions"
RESPONSE_SELECTOR_KEY = "response_selector"


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False
)
class AnswerConfidenceGuard(ConfigOnlyComponent):
    """Fallback for low-confidence or ambiguous ResponseSelector answers."""

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        return {"retrieval_intent": "faq", "threshold": 0.5, "margin": 0.1, "candidates": 3,
                "fall_through_intents": [], "fall_through_min": 0.3}

    def __init__(self, config: Dict[str, Any]) -> None:
        super().__init__(config)
        self.retrieval_intent: str = self._config["retrieval_intent"]
        self.threshold = float(self._config["threshold"])
        self.margin = float(self._config["margin"])
        self.candidates = int(self._config["candidates"])
        self.fall_through_intents = {str(n) for n in self._config["fall_through_intents"] or []}
        self.fall_through_min = float(self._config["fall_through_min"])

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
        asked = _sure_topics(selector.get("questions"))
        if len(asked) >= 2:
            self._fall_back(message, top, {
                "reason": SEVERAL_QUESTIONS,
                "confidence": top,
                "margin": top - runner_up,
                "candidates": asked,
            })
            return
        if top >= self.threshold and top - runner_up >= self.margin:
            return
        reading = self._next_reading(message)
        if reading is not None:
            message.data[INTENT] = reading
            return
        self._fall_back(message, top, {
            "reason": "low_answer_confidence",
            "confidence": top,
            "margin": top - runner_up,
            "candidates": [
                {"topic": entry["intent_response_key"], "confidence": entry["confidence"]}
                for entry in ranking[: self.candidates]
            ],
        })

    def _next_reading(self, message: Message) -> Optional[Dict[str, Any]]:
        """The runner-up intent, if it is one to fall through to and likely enough."""
        reading = next_reading(message, (self.retrieval_intent, DEFAULT_NLU_FALLBACK_INTENT_NAME))
        if reading is None:
            return None
        name, confidence = reading
        if name in self.fall_through_intents and confidence >= self.fall_through_min:
            return {"name": name, "confidence": confidence}
        return None

    @staticmethod
    def _fall_back(message: Message, top: float, why: Dict[str, Any]) -> None:
        fallback = {"name": DEFAULT_NLU_FALLBACK_INTENT_NAME, "confidence": top}
        message.data[INTENT] = fallback
        message.data.setdefault(INTENT_RANKING_KEY, [])
        message.data[INTENT_RANKING_KEY].insert(0, dict(fallback))
        message.set(ANSWER_GUARD_KEY, why, add_to_output=True)


def _sure_topics(parts: Any) -> List[Dict[str, Any]]:
    """Distinct topics of the question parts the selector was sure of, in the message's order."""
    topics: List[Dict[str, Any]] = []
    for part in parts if isinstance(parts, list) else []:
        if not isinstance(part, dict) or not part.get("sure"):
            continue
        topic = str(part.get("intent_response_key") or "")
        if topic and topic not in [t["topic"] for t in topics]:
            topics.append({"topic": topic, "confidence": float(part.get("confidence") or 0.0)})
    return topics
