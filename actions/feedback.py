"""``action_store_rating``: the customer's rating (1–5) after a community manager handed the
conversation back to the bot (the inbox asks with buttons ``/rate{"rating": N}``)."""

from __future__ import annotations

import logging
from typing import Any, Dict, List, Optional

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions._runtime import Runtime, default_runtime
from bot.database import transaction
from bot.inbox.ratings import parse_rating, record_rating
from bot.privacy import pseudo

logger = logging.getLogger(__name__)


def rating_from(tracker: Tracker) -> Optional[int]:
    """The rating from the button's entity, else from what the customer typed ('4', 'vier')."""
    for entity in tracker.latest_message.get("entities") or []:
        if entity.get("entity") == "rating":
            value = parse_rating(entity.get("value"))
            if value is not None:
                return value
    return parse_rating(tracker.latest_message.get("text") or "")


class ActionStoreRating(Action):
    def __init__(self, runtime: Optional[Runtime] = None) -> None:
        self._runtime = runtime

    def name(self) -> str:
        return "action_store_rating"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[EventType]:
        rating = rating_from(tracker)
        if rating is None:
            dispatcher.utter_message(response="utter_rating_unclear")
            return []
        runtime = self._runtime or default_runtime()
        try:
            with transaction(runtime.support) as session:
                stored = record_rating(
                    session, tracker.sender_id, rating, runtime.clock().replace(tzinfo=None)
                )
                if stored is not None:
                    logger.info("rating %s for handoff %s", rating, stored.id)
        except Exception:  # a lost rating must not break the conversation
            logger.exception("could not store the rating of %s", pseudo(tracker.sender_id))
        dispatcher.utter_message(response="utter_rating_thanks")
        return []
