"""Reading what the customer said from a rasa-sdk tracker."""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional

from rasa_sdk import Tracker

NLU_FALLBACK = "nlu_fallback"
ANSWER_GUARD_KEY = "answer_guard"
WRITTEN_IN_ENGLISH = "written_in_english"  # set by bot.nlu.english_handoff


def latest_intent(tracker: Tracker) -> str:
    return str((tracker.latest_message.get("intent") or {}).get("name") or "")


def _latest_typed(tracker: Tracker) -> Optional[Dict[str, Any]]:
    """The customer's latest typed message (user event); a button press is skipped."""
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            text = str(event.get("text") or "")
            if text and not text.startswith("/"):
                return event
    return None


def writes_english(tracker: Tracker) -> bool:
    """Whether the customer's latest typed message was English (a button press counts as the
    message before it: "Yes, connect me" after the English reply)."""
    typed = _latest_typed(tracker)
    parse = (typed.get("parse_data") or {}) if typed else tracker.latest_message
    intent = str((parse.get("intent") or {}).get("name") or "")
    return bool(parse.get(WRITTEN_IN_ENGLISH)) or intent == "english"


def latest_text(tracker: Tracker) -> str:
    """The customer's last words; for a button press the latest typed message before it."""
    typed = _latest_typed(tracker)
    return str((typed or tracker.latest_message).get("text") or "")


def answer_guard(tracker: Tracker) -> Optional[Dict[str, Any]]:
    guard = tracker.latest_message.get(ANSWER_GUARD_KEY)
    return guard if isinstance(guard, dict) else None


def understood_confidence(tracker: Tracker) -> Optional[float]:
    """How sure NLU was of its best real guess (the fallback pseudo-intent skipped)."""
    guard = answer_guard(tracker)
    if guard is not None:
        return float(guard.get("confidence") or 0.0)
    ranking: List[Dict[str, Any]] = tracker.latest_message.get("intent_ranking") or []
    for entry in ranking:
        if entry.get("name") != NLU_FALLBACK:
            return float(entry.get("confidence") or 0.0)
    intent = tracker.latest_message.get("intent") or {}
    value = intent.get("confidence")
    return float(value) if value is not None else None


def turns_since(
    tracker: Tracker, matches: Callable[[Dict[str, Any]], bool], turns: int
) -> Optional[int]:
    """How many customer messages ago the bot side last had an event ``matches`` accepts
    (within ``turns``), else None. 0 means in reply to the message before the current one."""
    seen_users = 0
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            seen_users += 1
            if seen_users > turns + 1:
                return None
        elif seen_users >= 1 and matches(event):
            return seen_users - 1
    return None


def user_turns_since(tracker: Tracker, action_name: str, turns: int) -> Optional[int]:
    """How many customer messages ago ``action_name`` last ran (within ``turns``), else None.

    0 means it ran in reply to the message before the current one.
    """
    return turns_since(
        tracker,
        lambda event: event.get("event") == "action" and event.get("name") == action_name,
        turns,
    )
