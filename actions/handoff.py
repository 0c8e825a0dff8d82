"""``action_handoff``: hand the conversation to a community manager (contract).

If the support database is unavailable (locked, down, read-only) the customer is still told
what happens next and the conversation is still paused; the handoff request then travels in
the metadata of the ``pause`` event (tracker store + event broker), from which the inbox's
event-broker consumer records it once the database takes writes again. No handoff is lost.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import Any, Dict, List, Optional

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, ConversationPaused, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.exc import SQLAlchemyError

from actions._runtime import Runtime, default_runtime
from actions._tracker import (
    NLU_FALLBACK,
    answer_guard,
    latest_intent,
    latest_text,
    understood_confidence,
    user_turns_since,
    writes_english,
)
from bot.database import transaction
from bot.handoff import HandoffRequest, customer_notice, handoff, unrecorded_metadata
from bot.models import HANDOFF_REASONS, HandoffReason
from bot.privacy import pseudo

logger = logging.getLogger(__name__)

# A second misunderstanding within this many customer messages after asking back is repeated.
REPEAT_WINDOW = 2

REASON_BY_INTENT = {
    "request_human": HandoffReason.CUSTOMER_REQUEST,
    "complaint": HandoffReason.COMPLAINT,
    "out_of_scope": HandoffReason.LOW_NLU_CONFIDENCE,
}


def handoff_reason(tracker: Tracker) -> str:
    """Why we escalate: an explicit slot from the action that decided, else the last message."""
    reason = tracker.get_slot("handoff_reason")
    if reason in HANDOFF_REASONS:
        return str(reason)
    intent = latest_intent(tracker)
    if intent in (NLU_FALLBACK, "out_of_scope") and asked_back_recently(tracker):
        return HandoffReason.REPEATED_FALLBACK.value  # misunderstood again right after asking
    if intent == NLU_FALLBACK:
        if answer_guard(tracker):
            return HandoffReason.LOW_ANSWER_CONFIDENCE.value
        return HandoffReason.LOW_NLU_CONFIDENCE.value
    return REASON_BY_INTENT.get(intent, HandoffReason.CUSTOMER_REQUEST).value


def asked_back_recently(tracker: Tracker) -> bool:
    return user_turns_since(tracker, "action_handle_fallback", REPEAT_WINDOW - 1) is not None


def record_handoff(
    runtime: Runtime, request: HandoffRequest, now: datetime, outside: bool
) -> Optional[int]:
    """Write the handoff row; its id, or None (logged) if the database refused."""
    try:
        with transaction(runtime.support) as session:
            record = handoff(session, request, now=now, outside=outside)
            logger.info(
                "handoff %s for %s (%s)", record.id, pseudo(request.sender_id), request.reason
            )
            return int(record.id)
    except SQLAlchemyError as error:
        logger.error(
            "support database unavailable, handoff of %s (%s) NOT recorded: %s. The customer "
            "was told and the conversation is paused; the inbox records the handoff from the "
            "pause event once the database takes writes again.",
            pseudo(request.sender_id), request.reason, " ".join(str(error).split())[:300],
        )
    except Exception:  # a bug must not keep the customer from a person either
        logger.exception("could not record the handoff of %s", pseudo(request.sender_id))
    return None


class ActionHandoff(Action):
    """Records the handoff, tells the customer what happens next and pauses the bot."""

    def __init__(self, runtime: Optional[Runtime] = None) -> None:
        self._runtime = runtime

    def name(self) -> str:
        return "action_handoff"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[EventType]:
        runtime = self._runtime or default_runtime()
        now = runtime.clock()
        outside = not runtime.hours.is_open(now)
        request = HandoffRequest(
            sender_id=tracker.sender_id,
            channel=tracker.get_latest_input_channel() or "rest",
            reason=handoff_reason(tracker),
            confidence=understood_confidence(tracker),
            last_message=latest_text(tracker),
            order_number=tracker.get_slot("order_number"),
        )
        # Off the event loop: a locked SQLite database makes the write wait (busy timeout).
        recorded = await asyncio.to_thread(record_handoff, runtime, request, now, outside)
        dispatcher.utter_message(
            text=customer_notice(
                runtime.hours, now, wait_minutes=runtime.settings.handoff_wait_minutes,
                english=writes_english(tracker),
            )
        )
        events: List[EventType] = [SlotSet("handoff_reason", None)]
        if tracker.active_loop.get("name"):
            events.append(ActiveLoop(None))
        pause: Dict[str, Any] = dict(ConversationPaused())
        if recorded is None:
            pause["metadata"] = unrecorded_metadata(request, now=now, outside=outside)
        events.append(pause)
        return events
