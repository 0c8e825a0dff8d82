"""``action_handle_affirm``: a "yes" is a short answer; a long message NLU half-heartedly calls
"yes" ("hmm ja also wegen dem ding da neulich") is a misunderstanding, not a yes."""

from __future__ import annotations

from typing import Any, Dict, List

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions._tracker import latest_text

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
            dispatcher.utter_message(response="utter_affirm")
            return []
        return ask_back_or_hand_over(dispatcher, tracker)


__all__ = ["ActionHandleAffirm", "is_plain_yes"]
