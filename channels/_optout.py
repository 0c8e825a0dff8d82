"""Customers who write STOP get no more messages on that channel until they write START.

Shared by the channels that offer it (WhatsApp, Messenger/Instagram): the words, and
:func:`opt_out_turn`, what a channel does with a customer message before Rasa sees it.
"""

from __future__ import annotations

import logging
import re
from typing import Any, Awaitable, Callable, Dict, Optional

from rasa.core.channels.channel import OutputChannel, UserMessage

from bot.privacy import pseudo
from channels._inbound import log_without_understanding
from channels._store import ChannelStore, ContactState
from channels._texts import OPTED_IN

logger = logging.getLogger(__name__)

STOP_WORDS = {"STOP", "STOPP", "ABMELDEN", "UNSUBSCRIBE", "STOPALL", "END", "QUIT", "CANCEL"}
START_WORDS = {"START", "UNSTOP", "ANMELDEN", "SUBSCRIBE"}
# Words that also cancel the order form: while a form is active they go to Rasa instead.
FORM_CANCEL_WORDS = {"STOP", "STOPP", "CANCEL", "END", "QUIT"}


def keyword(body: str) -> str:
    """The upper-case letters of a short message ("Stop!" -> "STOP"); "" for a long one."""
    return re.sub(r"[^A-ZÄÖÜ]", "", body.strip().upper()) if len(body) <= 20 else ""


async def form_active(agent: Any, sender_id: str) -> bool:
    if agent is None:
        return False
    tracker = await agent.tracker_store.retrieve(sender_id)
    return bool(tracker is not None and tracker.active_loop_name)


async def opt_out_turn(
    *,
    channel: str,
    store: ChannelStore,
    agent: Any,
    output: OutputChannel,
    sender_id: str,
    text: str,
    message_id: str,
    metadata: Dict[str, Any],
    before: ContactState,
    confirm_opt_out: Callable[[], Awaitable[Any]],
    after_opt_in: Optional[Callable[[], Awaitable[Any]]] = None,
) -> bool:
    """STOP / START, or a message of an opted-out customer: handled here (recorded for the team,
    confirmed to the customer) and True; False if the message goes on to Rasa."""

    async def log(words: str) -> None:
        if agent is not None:
            await log_without_understanding(
                agent,
                UserMessage(words, output, sender_id, input_channel=channel,
                            message_id=message_id, metadata=metadata),
                None,
            )

    word = keyword(text)
    if word in STOP_WORDS and not (
        word in FORM_CANCEL_WORDS and await form_active(agent, sender_id)
    ):
        await store.run(store.set_opted_out, channel, sender_id, True)
        logger.info("%s: %s opted out", channel, pseudo(sender_id))
        await log(text)
        if not before.opted_out:
            await confirm_opt_out()
        return True
    if word in START_WORDS and before.opted_out:
        await store.run(store.set_opted_out, channel, sender_id, False)
        logger.info("%s: %s opted in again", channel, pseudo(sender_id))
        await log(text)
        await output.send_text_message(sender_id, OPTED_IN)
        if after_opt_in is not None:
            await after_opt_in()
        return True
    if before.opted_out:
        # Recorded for the team, but nothing is sent until the customer sends START.
        await log(text or "[Nachricht]")
        return True
    return False


__all__ = [
    "FORM_CANCEL_WORDS",
    "START_WORDS",
    "STOP_WORDS",
    "form_active",
    "keyword",
    "opt_out_turn",
]
