"""Intents whose mistakes cost more get a higher confidence floor than the global fallback.

Rasa's FallbackClassifier has one threshold for every intent. But a message wrongly read as a
``complaint`` hands the conversation to the team at once, with an apology for a problem the
customer never had, while a missed complaint is asked back (with a "Mit einem Menschen
sprechen" button) and still reaches a person. So such intents may need more confidence:
``floors: {complaint: 0.5}`` turns a complaint below 0.5 into ``nlu_fallback``, exactly as the
FallbackClassifier does for every intent below its threshold.

``unclear_intents`` are intents trained on purpose from vague messages ("das mit dem ding von
neulich", "kurze frage"): recognised, they always become ``nlu_fallback``, so the bot asks back
with the likeliest topics (and hands over the second time) instead of forcing the message into
the nearest real intent, e.g. starting the order-status lookup.

``fall_through_min``: an intent below its floor is read as the next intent of the ranking
instead, when that one has at least this confidence (and is above its own floor). "die
zeltstangen sind verbogen angekommen 😡 wie läuft das jetzt" is a little angry (complaint 0.42)
but mostly asks what to do with a damaged parcel: it gets that FAQ answer (still subject to the
answer guard) instead of being asked back. Unset, everything below a floor is asked back.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.shared.constants import DEFAULT_NLU_FALLBACK_INTENT_NAME
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY
from rasa.shared.nlu.training_data.message import Message

from bot.nlu._component import ConfigOnlyComponent, next_reading


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False
)
class IntentConfidenceFloors(ConfigOnlyComponent):
    """``nlu_fallback`` for an intent below its own floor, and always for an unclear intent."""

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        return {"floors": {}, "unclear_intents": [], "fall_through_min": None}

    def __init__(self, config: Dict[str, Any]) -> None:
        super().__init__(config)
        self.floors = {str(k): float(v) for k, v in dict(self._config["floors"] or {}).items()}
        # Always below their floor: an unclear intent is never acted on.
        self.unclear = {str(name) for name in self._config["unclear_intents"] or []}
        for name in self.unclear:
            self.floors[name] = float("inf")
        minimum = self._config["fall_through_min"]
        self.fall_through_min = None if minimum is None else float(minimum)

    def _next_reading(self, message: Message, below: str) -> Optional[Dict[str, Any]]:
        """The next intent of the ranking, if likely enough to act on instead of ``below``."""
        if self.fall_through_min is None or below in self.unclear:
            return None
        reading = next_reading(message, (below, DEFAULT_NLU_FALLBACK_INTENT_NAME))
        if reading is None:
            return None
        name, confidence = reading
        if confidence >= max(self.fall_through_min, self.floors.get(name, 0.0)):
            return {"name": name, "confidence": confidence}
        return None

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            intent = message.get(INTENT) or {}
            floor = self.floors.get(str(intent.get("name")))
            confidence = float(intent.get("confidence") or 0.0)
            if floor is None or confidence >= floor:
                continue
            reading = self._next_reading(message, str(intent.get("name")))
            if reading is not None:
                message.data[INTENT] = reading
                continue
            fallback = {"name": DEFAULT_NLU_FALLBACK_INTENT_NAME,
                        "confidence": min(floor, 1.0)}
            message.data[INTENT] = fallback
            message.data.setdefault(INTENT_RANKING_KEY, [])
            message.data[INTENT_RANKING_KEY].insert(0, dict(fallback))
        return messages
