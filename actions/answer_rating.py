""""Did it help?": recording the customer's 👍/👎 on the FAQ answer just sent.

The FAQ answer asked for it (buttons, or "ja"/"nein" on WhatsApp; :mod:`bot.answers.nlg`). A
rating counts only as the reply to that very answer – the customer's next message after it –
and only once per conversation (the ``answer_rating`` slot). Anything else is not a rating:
a new question is answered as usual, a late 👍 is thanked but not recorded.

``action_rate_answer`` handles the buttons and typed "hat (nicht) geholfen"; a plain "ja"/"nein"
reaches :func:`rate_if_offered` through ``action_handle_affirm``/``action_handle_deny``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Dict, List, Optional

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions._runtime import Runtime, default_runtime
from actions._tracker import latest_intent
from bot.answers.feedback import (
    HELPFUL_INTENT,
    OFFER_KEY,
    RATING_SLOT,
    record_answer_rating,
)
from bot.database import transaction
from bot.privacy import pseudo

logger = logging.getLogger(__name__)

HELPFUL_RESPONSE = "utter_answer_helpful"
UNHELPFUL_RESPONSE = "utter_answer_unhelpful"


@dataclass(frozen=True)
class Offer:
    """The FAQ answer that asked for a rating: its topic and its Rasa timestamp."""

    topic: str
    answer_at: float


def pending_offer(tracker: Tracker) -> Optional[Offer]:
    """The rating question the customer's current message replies to, else None.

    The last bot message before the current customer message must be an FAQ answer that asked
    for a rating, and the conversation must not have a rating yet.
    """
    if tracker.get_slot(RATING_SLOT) is not None:
        return None
    seen_current = False
    for event in reversed(tracker.events):
        kind = event.get("event")
        if kind == "user":
            if seen_current:
                return None  # two customer messages without a bot message between them
            seen_current = True
        elif kind in ("session_started", "restart"):
            return None  # the answer belongs to an earlier conversation
        elif kind == "bot" and seen_current:
            topic = (event.get("metadata") or {}).get(OFFER_KEY)
            if isinstance(topic, str) and topic.startswith("faq/"):
                return Offer(topic=topic, answer_at=float(event.get("timestamp") or 0.0))
            return None
    return None


def channel_of(tracker: Tracker) -> str:
    return str(tracker.get_latest_input_channel() or "unknown")


def store(runtime: Runtime, tracker: Tracker, offer: Offer, helpful: bool) -> None:
    """Write the rating to the support database; a failure is logged, never raised (the slot
    event still carries the rating to the event broker)."""
    try:
        with transaction(runtime.support) as session:
            stored = record_answer_rating(
                session,
                sender_id=tracker.sender_id,
                topic=offer.topic,
                helpful=helpful,
                channel=channel_of(tracker),
                answer_at=offer.answer_at,
                now=runtime.clock().replace(tzinfo=None),
            )
        if not stored:
            logger.info("answer rating of %s for %s already stored",
                        pseudo(tracker.sender_id), offer.topic)
    except Exception:  # a lost rating must not break the conversation
        logger.exception("could not store the answer rating of %s", pseudo(tracker.sender_id))


def rate(
    dispatcher: CollectingDispatcher,
    tracker: Tracker,
    offer: Offer,
    helpful: bool,
    runtime: Optional[Runtime] = None,
) -> List[EventType]:
    """Record the rating of ``offer`` and answer the customer (thanks, or a way on)."""
    store(runtime or default_runtime(), tracker, offer, helpful)
    dispatcher.utter_message(response=HELPFUL_RESPONSE if helpful else UNHELPFUL_RESPONSE)
    return [
        SlotSet(
            RATING_SLOT,
            {"topic": offer.topic, "helpful": helpful, "channel": channel_of(tracker)},
        )
    ]


def rate_if_offered(
    dispatcher: CollectingDispatcher,
    tracker: Tracker,
    helpful: bool,
    runtime: Optional[Runtime] = None,
) -> Optional[List[EventType]]:
    """A plain "ja"/"nein" right after an answer that asked for a rating rates it; None if the
    message is no reply to such a question (the caller goes on as before)."""
    offer = pending_offer(tracker)
    if offer is None:
        return None
    return rate(dispatcher, tracker, offer, helpful, runtime)


class ActionRateAnswer(Action):
    """👍/👎 (button or typed "hat geholfen"/"hat nicht geholfen")."""

    def __init__(self, runtime: Optional[Runtime] = None) -> None:
        self._runtime = runtime

    def name(self) -> str:
        return "action_rate_answer"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[EventType]:
        helpful = latest_intent(tracker) == HELPFUL_INTENT
        events = rate_if_offered(dispatcher, tracker, helpful, self._runtime)
        if events is not None:
            return events
        # Not a reply to a rating question (or rated already): answered, nothing recorded.
        dispatcher.utter_message(response=HELPFUL_RESPONSE if helpful else UNHELPFUL_RESPONSE)
        return []


__all__ = [
    "ActionRateAnswer",
    "Offer",
    "pending_offer",
    "rate",
    "rate_if_offered",
]
