"""An order placed at another shop is not Paula's to look up or answer.

"mein zalando paket ist nicht gekommen" reads like an order-status question, and "hab über
otto bestellt und die falsche farbe bekommen" like the wrong-item FAQ. But the order is not a
Bergpfad order: starting the order lookup asks for a Bergpfad order number the customer does
not have, and the FAQ answer explains a return process that does not apply. Such a message is
out of scope, which hands it to the team, who can tell the customer where to turn.

When the intent is one of ``intents`` (order status, an order number alone) or an FAQ answer
about an existing order (``faq_topics``), and the text names a shop from ``shops``, the intent
becomes ``to_intent`` (``out_of_scope``). Other questions that name a shop keep their answer:
"ist das bei euch günstiger als bei amazon?" is the price-match FAQ.
The shop list lives in config.yml, so a trainer can add the shops customers mention.
"""

from __future__ import annotations

import re
from typing import Any, Dict, Iterable, List, Optional, Pattern

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.shared.nlu.constants import INTENT, TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.nlu._component import ConfigOnlyComponent, reread_as
from bot.nlu._fold import fold_german
from bot.nlu.answer_guard import RESPONSE_SELECTOR_KEY


def shop_pattern(shops: Iterable[str]) -> Optional[Pattern[str]]:
    """One pattern for all shop names: case, umlauts and "about you"/"aboutyou"/"about-you"."""
    names = []
    for shop in shops:
        words = [re.escape(fold_german(word)) for word in str(shop).split()]
        if words:
            names.append(r"[\s\-_.]*".join(words))
    if not names:
        return None
    # Longest first, so "sport schuster" wins over a shorter name inside it.
    names.sort(key=len, reverse=True)
    return re.compile(rf"(?<![\w&])(?:{'|'.join(names)})(?![\w&])")


def _fold_text(text: str) -> str:
    return " ".join(fold_german(word) for word in text.split())


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False
)
class OrdersFromOtherShops(ConfigOnlyComponent):
    """``out_of_scope`` for an order question about an order placed at another shop."""

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        return {
            "intents": ["order_status", "inform"],
            "retrieval_intent": "faq",
            "faq_topics": [],
            "shops": [],
            "to_intent": "out_of_scope",
        }

    def __init__(self, config: Dict[str, Any]) -> None:
        super().__init__(config)
        self.intents = {str(name) for name in self._config["intents"] or []}
        self.retrieval_intent = str(self._config["retrieval_intent"])
        self.faq_topics = {str(topic) for topic in self._config["faq_topics"] or []}
        self.pattern = shop_pattern(self._config["shops"] or [])
        self.to_intent = str(self._config["to_intent"])

    def _about_an_order(self, message: Message) -> bool:
        name = str((message.get(INTENT) or {}).get("name"))
        if name in self.intents:
            return True
        if name != self.retrieval_intent:
            return False
        selector = (message.get(RESPONSE_SELECTOR_KEY) or {}).get(self.retrieval_intent) or {}
        key = str((selector.get("response") or {}).get("intent_response_key") or "")
        return key.partition("/")[2] in self.faq_topics

    def names_another_shop(self, text: str) -> bool:
        return self.pattern is not None and self.pattern.search(_fold_text(text)) is not None

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            if not self._about_an_order(message):
                continue
            if self.names_another_shop(str(message.get(TEXT) or "")):
                reread_as(message, self.to_intent)
        return messages
