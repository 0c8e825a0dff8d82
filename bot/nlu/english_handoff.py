"""An English message that asks for a person hands over at once.

Paula answers in German only. An English message is read as the ``english`` intent and gets
the English reply offering a colleague ("Shall I connect you?"). But a customer who already
asks for that colleague ("can someone from your team call me back?", "get me an agent") must
not be asked again: the issue is settled, and the classifier, trained mostly on German, cannot
tell English person requests from other English text reliably.

So when the intent is one of ``from_intents`` (``english``) and the text names a person or
asks to be called, connected or spoken to, the intent becomes ``request_human`` with the same
confidence. German messages are never touched: only the English-language intent is re-read,
which keeps German near misses ("habt ihr Mitarbeiter im Laden?") out of reach.

Every message read as English, or written in English whatever its intent (the classifier
reads "could someone call me back please?" as ``request_human`` directly), is marked
``written_in_english`` in the parse data, so the handoff can tell the customer in English that
a colleague will answer.
"""

from __future__ import annotations

import re
from typing import Any, Dict, List

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.shared.nlu.constants import INTENT, TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.language import looks_english
from bot.nlu._component import ConfigOnlyComponent, reread_as

# Who: a person rather than the bot.
_PERSON = (
    r"human|real person|a person|(?:live|real) (?:agent|person|chat|support)|agent|"
    r"representative|operator|someone|somebody|anyone|anybody|colleague|staff(?: member)?|"
    r"employee|manager|supervisor|customer (?:service|support|care)|support team"
)
# What: be called, connected or spoken to.
_CONTACT = (
    r"call(?:ing)? (?:me|us)|call ?back|ring me|phone me|(?:talk|speak|chat) (?:to|with)|"
    r"connect me|put me through|transfer me"
)
WRITTEN_IN_ENGLISH = "written_in_english"
PERSON_REQUEST = re.compile(rf"\b(?:{_PERSON}|{_CONTACT})\b", re.IGNORECASE)


def asks_for_a_person(text: str) -> bool:
    """Whether an English message names a person or asks to be called or connected."""
    return PERSON_REQUEST.search(text) is not None


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False
)
class EnglishPersonRequests(ConfigOnlyComponent):
    """``request_human`` for an English message that asks for a person."""

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        return {"from_intents": ["english"], "to_intent": "request_human"}

    def __init__(self, config: Dict[str, Any]) -> None:
        super().__init__(config)
        self.from_intents = {str(name) for name in self._config["from_intents"] or []}
        self.to_intent = str(self._config["to_intent"])

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            intent = message.get(INTENT) or {}
            text = str(message.get(TEXT) or "")
            english = str(intent.get("name")) in self.from_intents
            if english or looks_english(text):
                message.set(WRITTEN_IN_ENGLISH, True, add_to_output=True)
            if not english:
                continue
            if asks_for_a_person(text):
                reread_as(message, self.to_intent)
        return messages
