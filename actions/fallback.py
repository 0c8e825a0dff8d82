"""``action_handle_fallback``: ask back once with the likeliest topics, then hand over.

A short message right after an FAQ answer is first read as a follow-up of that answer
(actions/followup.py); only if that is not clear either the bot asks back, the previous topic
first.

A message that asks several FAQ questions at once (the answer guard's ``several_questions``:
each question part was sure of its own topic) gets every answer, in the customer's order.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, List, Optional

import yaml
from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions._tracker import latest_text
from actions.followup import (
    FAQ_RESPONSE_PREFIX,
    answer_ranking,
    answer_text,
    asked_back_within,
    covered_by_answer,
    is_short,
    previous_topic,
    resolve_in_context,
)
from actions.handoff import REPEAT_WINDOW
from bot.models import HandoffReason

TOPICS_FILE = Path(__file__).with_name("topics.yml")
HUMAN_BUTTON = {"title": "Mit einem Menschen sprechen", "payload": "/request_human"}
INTENT_BUTTONS = {
    "order_status": {"title": "Status meiner Bestellung", "payload": "/order_status"},
}
MAX_CANDIDATES = 3
# A topic this unlikely is no guess worth a button ("hmm", "das mit dem ding von neulich" leave
# every topic below it): with no topic left the bot asks to rephrase instead.
MIN_BUTTON_CONFIDENCE = 0.1


@lru_cache(maxsize=1)
def topic_buttons() -> Dict[str, Dict[str, str]]:
    """topic id -> button (title shown, canonical question sent back when tapped)."""
    raw = yaml.safe_load(TOPICS_FILE.read_text(encoding="utf-8")) or {}
    return {
        topic: {"title": str(entry["title"]), "payload": str(entry["question"])}
        for topic, entry in raw.items()
    }


def candidate_buttons(
    latest_message: Dict[str, Any], first_topic: Optional[str] = None
) -> List[Dict[str, str]]:
    """The likeliest 2–3 things the customer meant, as buttons, best first.

    ``first_topic`` (the topic answered just before) leads when the customer seems to follow up.
    """
    buttons: List[Dict[str, str]] = []
    topics = topic_buttons()

    def add(button: Dict[str, str] | None) -> None:
        if button and button not in buttons and len(buttons) < MAX_CANDIDATES:
            buttons.append(button)

    if first_topic:
        add(topics.get(first_topic))

    guard = latest_message.get("answer_guard")
    selector = (latest_message.get("response_selector") or {}).get("faq") or {}
    faq_ranking = [
        str(entry.get("intent_response_key", "")) for entry in selector.get("ranking") or []
        if float(entry.get("confidence") or 0.0) >= MIN_BUTTON_CONFIDENCE
    ]
    if isinstance(guard, dict):
        faq_ranking = [
            str(c.get("topic", "")) for c in guard.get("candidates") or []
            if float(c.get("confidence") or 0.0) >= MIN_BUTTON_CONFIDENCE
        ] + faq_ranking
    for entry in latest_message.get("intent_ranking") or []:
        name = entry.get("name")
        if name == "faq":
            for key in faq_ranking[:2]:
                add(topics.get(key.split("/", 1)[-1]))
        elif name in INTENT_BUTTONS:
            add(INTENT_BUTTONS[name])
    for key in faq_ranking:
        add(topics.get(key.split("/", 1)[-1]))
    return buttons


def ask_back_or_hand_over(
    dispatcher: CollectingDispatcher, tracker: Tracker, first_topic: Optional[str] = None
) -> List[EventType]:
    """First time unsure: ask back with buttons. Unsure again soon after: hand over."""
    if asked_back_within(tracker, REPEAT_WINDOW - 1):
        return [
            SlotSet("handoff_reason", HandoffReason.REPEATED_FALLBACK.value),
            FollowupAction("action_handoff"),
        ]
    buttons = candidate_buttons(tracker.latest_message, first_topic)
    if buttons:
        dispatcher.utter_message(response="utter_ask_back", buttons=buttons + [HUMAN_BUTTON])
    else:
        dispatcher.utter_message(response="utter_ask_rephrase", buttons=[HUMAN_BUTTON])
    return []


def several_questions(latest_message: Dict[str, Any]) -> List[str]:
    """Topic ids of a message that asked several FAQ questions (empty otherwise)."""
    guard = latest_message.get("answer_guard")
    if not isinstance(guard, dict) or guard.get("reason") != "several_questions":
        return []
    topics = []
    for candidate in guard.get("candidates") or []:
        key = str(candidate.get("topic") or "") if isinstance(candidate, dict) else ""
        topic = key.split("/", 1)[-1]
        if key.startswith("faq/") and topic in topic_buttons() and topic not in topics:
            topics.append(topic)
    return topics


class ActionHandleFallback(Action):
    """Unsure: a short follow-up is read in context; else ask back once, then hand over."""

    def name(self) -> str:
        return "action_handle_fallback"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[EventType]:
        asked = several_questions(tracker.latest_message)
        if len(asked) >= 2:
            for asked_topic in asked:
                dispatcher.utter_message(response=f"{FAQ_RESPONSE_PREFIX}{asked_topic}")
            return []
        previous = previous_topic(tracker)
        in_form = bool(tracker.active_loop.get("name"))
        if previous and not in_form and is_short(latest_text(tracker)):
            text = latest_text(tracker)
            covered = covered_by_answer(answer_text(domain, previous), text)
            ranking = answer_ranking(tracker.latest_message)
            topic = resolve_in_context(previous, ranking, covered=covered)
            if topic is not None:
                dispatcher.utter_message(response=f"{FAQ_RESPONSE_PREFIX}{topic}")
                return []
        return ask_back_or_hand_over(dispatcher, tracker, first_topic=previous)


__all__ = [
    "ActionHandleFallback", "ask_back_or_hand_over", "candidate_buttons", "several_questions",
]
