"""What every messenger channel does with a customer's message once its webhook accepted it.

Webhooks answer the provider at once and hand the work to a background task here. Tasks for
the same customer run one after another in arrival order (so a quick second message cannot
overtake the first); different customers run concurrently.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import Any, Awaitable, Callable, Dict, List, Optional, Set

from rasa.core.channels.channel import OutputChannel, UserMessage

from bot.models import utcnow
from bot.privacy import pseudo
from channels._store import ChannelStore, MediaItem
from channels._texts import HUMAN_BUTTON, MEDIA_LABELS, MEDIA_REPLIES, STILL_THERE

logger = logging.getLogger(__name__)

OnNewMessage = Callable[[UserMessage], Awaitable[Any]]

# Dedupe records are kept this long; providers give up redelivering long before.
DEDUPE_RETENTION = timedelta(days=7)
# Messages accepted but not handled (the server stopped in between) are caught up on the next
# start if they are at most this old; older ones would confuse more than help.
CATCH_UP_WINDOW = timedelta(minutes=15)


class SerialTasks:
    """Background tasks, serialised per key (the customer), FIFO."""

    def __init__(self) -> None:
        self._locks: Dict[str, asyncio.Lock] = {}
        self._waiting: Dict[str, int] = {}
        self._tasks: Set["asyncio.Task[None]"] = set()

    def spawn(self, key: str, work: Callable[[], Awaitable[None]], what: str) -> None:
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._waiting[key] = self._waiting.get(key, 0) + 1

        async def run() -> None:
            try:
                async with lock:
                    await work()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("could not handle %s", what)
            finally:
                self._waiting[key] -= 1
                if not self._waiting[key]:
                    self._waiting.pop(key, None)
                    self._locks.pop(key, None)

        task = asyncio.ensure_future(run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    @property
    def pending(self) -> int:
        return len(self._tasks)

    async def drain(self, timeout: float) -> None:
        """Let running work finish (up to ``timeout`` seconds), then cancel the rest."""
        if not self._tasks:
            return
        _done, pending = await asyncio.wait(set(self._tasks), timeout=timeout)
        for task in pending:
            task.cancel()


class LazyStore:
    """The channel store, created (and its tables ensured) on first use inside the server."""

    def __init__(self, url: str) -> None:
        self._url = url
        self._store: Optional[ChannelStore] = None
        self._lock = asyncio.Lock()  # Python 3.10 binds it to the loop on first use

    async def get(self) -> ChannelStore:
        if self._store is None:
            async with self._lock:
                if self._store is None:
                    store = ChannelStore.from_url(self._url)
                    await store.run(store.ensure_schema)
                    await store.run(store.forget_inbound_before, utcnow() - DEDUPE_RETENTION)
                    self._store = store
        return self._store


def media_metadata(items: List[MediaItem]) -> List[Dict[str, Any]]:
    return [item.as_metadata() for item in items]


async def log_without_understanding(
    agent: Any, message: UserMessage, reply: Optional[str]
) -> bool:
    """Add ``message`` to the conversation without NLU and answer ``reply`` unless the bot is
    paused (an agent has the conversation). Used for media the bot cannot read: the agent sees
    it in the transcript, the customer learns what the bot can do. Returns True if it replied.
    """
    from rasa.shared.core.events import BotUttered, Event, UserUttered

    async with agent.lock_store.lock(message.sender_id):
        tracker = await agent.processor.fetch_tracker_and_update_session(
            message.sender_id, message.output_channel, message.metadata
        )
        tracker.update(
            UserUttered(
                message.text,
                input_channel=message.input_channel,
                message_id=message.message_id,
                metadata=message.metadata,
            )
        )
        events: List[Event] = []
        if reply and not tracker.is_paused():
            events.append(BotUttered(reply, metadata={"source": "channel"}))
            for event in events:
                tracker.update(event)
        # Saved before sending: the agent sees the customer's item even if delivery is slow.
        await agent.tracker_store.save(tracker)
        await agent.processor.execute_side_effects(events, tracker, message.output_channel)
    return bool(events)


def _turn_answered(events: List[Any], message_id: Optional[str]) -> bool:
    """True if the bot said something after the customer's message ``message_id``.

    Without the message in the tracker (it was not even logged) the turn counts as unanswered.
    """
    for index in range(len(events) - 1, -1, -1):
        event = events[index]
        if getattr(event, "type_name", "") == "user" and (
            message_id is None or getattr(event, "message_id", None) == message_id
        ):
            return any(getattr(later, "type_name", "") == "bot" for later in events[index + 1:])
    return False


async def already_answered(agent: Any, sender_id: str, message_id: str) -> bool:
    """True if the tracker already holds message ``message_id`` and an answer to it: the server
    stopped after Rasa had handled it but before the channel marked it handled. The catch-up then
    only marks it, instead of answering the customer a second time."""
    if agent is None:
        return False
    tracker = await agent.tracker_store.retrieve(sender_id)
    return tracker is not None and _turn_answered(list(tracker.events), message_id)


async def record_answered_turn(
    agent: Any,
    channel: str,
    sender_id: str,
    message_id: str,
    text: str,
    answers: List[str],
) -> bool:
    """Put a turn the customer already got answered into the tracker, sending nothing.

    Rasa sends the bot's answer before it saves the tracker; a crash in between leaves a
    customer with an answer and a conversation without the turn. The catch-up must not answer
    again (the delivery is recorded), but the team's history must not miss it either: the
    customer's text (with its NLU reading) and the texts that reached the customer are
    appended under the conversation's lock. False if there is no agent or it is there already.
    """
    if agent is None or getattr(agent, "tracker_store", None) is None:
        return False
    from rasa.shared.core.constants import ACTION_LISTEN_NAME
    from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered

    async with agent.lock_store.lock(sender_id):
        tracker = await agent.tracker_store.get_or_create_tracker(sender_id)
        if any(getattr(e, "message_id", None) == message_id for e in tracker.events):
            return False
        parsed = await agent.parse_message(text)
        tracker.update(UserUttered(
            text, intent=parsed.get("intent"), entities=parsed.get("entities") or [],
            parse_data=parsed, input_channel=channel, message_id=message_id,
        ))
        for answer in answers:
            tracker.update(BotUttered(answer, metadata={"recorded_after_restart": True}))
        tracker.update(ActionExecuted(ACTION_LISTEN_NAME))
        await agent.tracker_store.save(tracker)
    return True


async def answer_if_silent(agent: Any, message: UserMessage) -> bool:
    """Never silence: if handling ``message`` produced no bot message (the action server is
    down, an action crashed) and the conversation is not paused (an agent has it: the bot must
    stay quiet), tell the customer to hold on and offer a person. Returns True if it did."""
    if agent is None:
        return False
    from rasa.shared.core.events import BotUttered

    async with agent.lock_store.lock(message.sender_id):
        tracker = await agent.tracker_store.retrieve(message.sender_id)
        if tracker is not None and (
            tracker.is_paused() or _turn_answered(list(tracker.events), message.message_id)
        ):
            return False
        # No sender id in the log (personal data): the channel and message id suffice.
        logger.warning(
            "%s: no answer to message %s (action server down?); sent the holding message",
            message.input_channel,
            message.message_id,
        )
        event = BotUttered(
            STILL_THERE, data={"buttons": [dict(HUMAN_BUTTON)]}, metadata={"source": "channel"}
        )
        if tracker is None:
            await message.output_channel.send_text_with_buttons(
                message.sender_id, STILL_THERE, [dict(HUMAN_BUTTON)]
            )
            return True
        tracker.update(event)
        await agent.tracker_store.save(tracker)
        await agent.processor.execute_side_effects([event], tracker, message.output_channel)
    return True


async def handle_and_answer(
    on_new_message: OnNewMessage, agent: Any, message: UserMessage
) -> None:
    """Hand ``message`` to Rasa, then make sure the customer is not left without an answer."""
    try:
        await on_new_message(message)
    finally:
        try:
            await answer_if_silent(agent, message)
        except Exception:  # noqa: BLE001 - the holding message is best effort
            logger.exception("could not check the turn of message %s for an answer",
                             message.message_id)


async def dispatch(
    *,
    channel: str,
    store: ChannelStore,
    agent: Any,
    on_new_message: OnNewMessage,
    output_channel: OutputChannel,
    sender_id: str,
    text: Optional[str],
    media: List[MediaItem],
    metadata: Dict[str, Any],
    external_id: Optional[str],
) -> None:
    """Hand one customer message to Rasa: text goes through NLU (with any media attached as
    metadata); media without text is recorded on the conversation with a German reply."""
    if media:
        await store.run(
            store.record_media, channel, sender_id, external_id, media, text or None
        )
        metadata = {**metadata, "media": media_metadata(media)}
    if text and text.strip():
        await handle_and_answer(
            on_new_message,
            agent,
            UserMessage(
                text,
                output_channel,
                sender_id,
                input_channel=channel,
                message_id=external_id,
                metadata=metadata,
            ),
        )
        return
    kind = media[0].kind if media else "other"
    label = " ".join(MEDIA_LABELS.get(item.kind, MEDIA_LABELS["other"]) for item in media)
    message = UserMessage(
        label or MEDIA_LABELS["other"],
        output_channel,
        sender_id,
        input_channel=channel,
        message_id=external_id,
        metadata=metadata,
    )
    if agent is None:
        logger.warning("no Rasa agent yet; answering %s's %s directly", pseudo(sender_id), kind)
        await output_channel.send_text_message(sender_id, MEDIA_REPLIES.get(kind, ""))
        return
    await log_without_understanding(
        agent, message, MEDIA_REPLIES.get(kind, MEDIA_REPLIES["other"])
    )


__all__ = [
    "CATCH_UP_WINDOW",
    "LazyStore",
    "OnNewMessage",
    "SerialTasks",
    "already_answered",
    "record_answered_turn",
    "answer_if_silent",
    "dispatch",
    "handle_and_answer",
    "log_without_understanding",
    "media_metadata",
]
