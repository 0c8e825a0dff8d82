"""``action_handle_affirm``/``action_handle_deny``: a plain "ja"/"nein".

A "yes" is a short answer; a long message NLU half-heartedly calls "yes" ("hmm ja also wegen
dem ding da neulich") is a misunderstanding, not a yes. Right after an FAQ answer that asked
"did it help?" (WhatsApp: typed, elsewhere besides the buttons), a plain "ja"/"nein" is the
customer's 👍/👎 (``actions/answer_rating.py``)."""

from __future__ import annotations

from typing import Any, Dict, List

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions._tracker import latest_text
from actions.answer_rating import rate_if_offered

MAX_AFFIRM_WORDS = 4
SURE_AFFIRM = 0.8


def is_plain_yes(text: str, confidence: float) -> bool:
    return len(text.split()) <= MAX_AFFIRM_WORDS or confidence >= SURE_AFFIRM


class ActionHandleAffirm(Action):
    """A plain yes gets utter_affirm; anything else is handled like an unsure message."""

    def name(self) -> str:
        return "action_handle_affirm"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[EventType]:
        from actions.fallback import ask_back_or_hand_over

        confidence = float((tracker.latest_message.get("intent") or {}).get("confidence") or 0.0)
        if is_plain_yes(latest_text(tracker), confidence):
            rated = rate_if_offered(dispatcher, tracker, helpful=True)
            if rated is not None:
                return rated
            dispatcher.utter_message(response="utter_affirm")
            return []
        return ask_back_or_hand_over(dispatcher, tracker)


class ActionHandleDeny(Action):
    """A "no" right after a rating question is a 👎; otherwise utter_deny as before."""

    def name(self) -> str:
        return "action_handle_deny"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[EventType]:
        confidence = float((tracker.latest_message.get("intent") or {}).get("confidence") or 0.0)
        if is_plain_yes(latest_text(tracker), confidence):  # a plain "no" as much as a "yes"
            rated = rate_if_offered(dispatcher, tracker, helpful=False)
            if rated is not None:
                return rated
        dispatcher.utter_message(response="utter_deny")
        return []


__all__ = ["ActionHandleAffirm", "ActionHandleDeny", "is_plain_yes"]
