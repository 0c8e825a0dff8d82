"""Order status: the form's validation and the lookup in the shop database.

Every lookup goes through :func:`bot.order_guard.guarded_lookup`: failures count on the order
number across all conversations, and a locked number reveals nothing (hand over instead).
Unknown number, wrong postcode and locked number read the same to the customer.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Dict, List, Optional

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from sqlalchemy.exc import SQLAlchemyError

from actions._runtime import Runtime, default_runtime
from bot.models import HandoffReason
from bot.order_guard import NOT_FOUND, LookupResult, guarded_lookup
from bot.shop import describe_status, normalize_order_number, normalize_postal_code

logger = logging.getLogger(__name__)

MAX_LOOKUP_FAILURES = 3
NOT_FOUND_HANDOFF_TEXT = (
    "Ich konnte deine Bestellung leider nicht finden. "
    "Ich verbinde dich mit unserem Team, das hilft dir weiter."
)


async def lookup(
    runtime: Runtime, number: Any, postal_code: Any, *, record_failure: bool
) -> Optional[LookupResult]:
    """The guarded lookup, off the event loop (it waits for the database lock).

    Slot values are checked again (a slot may be set without the form). None: a database
    failed – logged; the caller hands over rather than guess.
    """
    clean_number = normalize_order_number(str(number or ""))
    clean_code = normalize_postal_code(str(postal_code or ""))
    if clean_number is None or clean_code is None:
        return LookupResult(NOT_FOUND)
    try:
        return await asyncio.to_thread(
            guarded_lookup,
            runtime.support,
            runtime.shop,
            clean_number,
            clean_code,
            now=runtime.clock(),
            policy=runtime.lookup_policy,
            record_failure=record_failure,
        )
    except SQLAlchemyError as error:
        logger.error(
            "order lookup of %s impossible, database unavailable: %s",
            clean_number, " ".join(str(error).split())[:300],
        )
        return None


class ValidateOrderStatusForm(FormValidationAction):
    """Accepts 'BP-482913', 'bp 482913' or '482913' and a 4–5 digit postal code."""

    def __init__(self, runtime: Optional[Runtime] = None) -> None:
        self._runtime = runtime

    def name(self) -> str:
        return "validate_order_status_form"

    def validate_order_number(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        number = normalize_order_number(str(value or ""))
        if number is None:
            dispatcher.utter_message(response="utter_invalid_order_number")
        return {"order_number": number}

    async def validate_postal_code(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        code = normalize_postal_code(str(value or ""))
        if code is None:
            dispatcher.utter_message(response="utter_invalid_postal_code")
            return {"postal_code": None}
        number = tracker.get_slot("order_number")
        if not number:
            return {"postal_code": code}
        runtime = self._runtime or default_runtime()
        result = await lookup(runtime, number, code, record_failure=True)
        if result is not None and result.found:
            return {"postal_code": code}
        failures = int(tracker.get_slot("order_lookup_failures") or 0) + 1
        if result is None or result.locked or failures >= MAX_LOOKUP_FAILURES:
            # Let the form finish; action_order_status hands over.
            return {
                "postal_code": code,
                "order_lookup_failures": float(max(failures, MAX_LOOKUP_FAILURES)),
            }
        dispatcher.utter_message(response="utter_order_not_found")
        return {"order_number": None, "postal_code": None, "order_lookup_failures": float(failures)}


class ActionOrderStatus(Action):
    """Tells the status of the order the form identified, or hands over after failed tries."""

    def __init__(self, runtime: Optional[Runtime] = None) -> None:
        self._runtime = runtime

    def name(self) -> str:
        return "action_order_status"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[EventType]:
        runtime = self._runtime or default_runtime()
        number = tracker.get_slot("order_number")
        code = tracker.get_slot("postal_code")
        result: Optional[LookupResult] = None
        if number and code:
            # The form's validation already counted a failure for this postcode.
            result = await lookup(runtime, number, code, record_failure=False)
        reset: List[EventType] = [
            SlotSet("postal_code", None),
            SlotSet("order_lookup_failures", 0.0),
        ]
        if result is None or result.order is None:
            # Same words for unknown, wrong and locked: nothing leaks; a person takes over.
            dispatcher.utter_message(text=NOT_FOUND_HANDOFF_TEXT)
            locked = result is not None and result.locked
            reason = (HandoffReason.ORDER_LOCKED if locked
                      else HandoffReason.ORDER_LOOKUP_FAILED).value
            # The order number stays on the conversation for the agent.
            return reset + [SlotSet("handoff_reason", reason), FollowupAction("action_handoff")]
        dispatcher.utter_message(text=describe_status(result.order))
        return reset + [SlotSet("order_number", None)]
