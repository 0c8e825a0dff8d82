"""Sending to Telegram customers with python-telegram-bot: text, inline buttons, images."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any, Awaitable, Callable, Dict, List, Optional, Union

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Message
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TimedOut,
)

from bot.privacy import pseudo
from channels._inbound import LazyStore
from channels._output import MessengerOutput
from channels._retry import DeliveryFailed, RetryPolicy, Verdict, call_with_retries
from channels._split import split_text, utf16_length
from channels.delivery import DeliveryReason

logger = logging.getLogger(__name__)

CHANNEL = "telegram"
MESSAGE_LIMIT = 4096  # UTF-16 code units
CALLBACK_DATA_LIMIT = 64  # bytes
STORED_PAYLOAD_PREFIX = "#k:"


def _seconds(value: Union[int, float, timedelta]) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def classify(error: BaseException) -> Verdict:
    """Which Telegram errors are worth another try."""
    if isinstance(error, RetryAfter):
        return Verdict(True, DeliveryReason.RATE_LIMITED, delay=_seconds(error._retry_after))
    if isinstance(error, Forbidden):
        return Verdict(False, DeliveryReason.BLOCKED)
    if isinstance(error, (BadRequest, InvalidToken, ChatMigrated)):
        return Verdict(False, DeliveryReason.REJECTED)
    if isinstance(error, (TimedOut, NetworkError)):  # includes 5xx answers and timeouts
        return Verdict(True, DeliveryReason.PROVIDER_UNAVAILABLE)
    return Verdict(False, DeliveryReason.REJECTED)


def chat_id_of(recipient_id: str) -> Union[int, str]:
    try:
        return int(recipient_id)
    except ValueError:
        return recipient_id


class TelegramOutput(MessengerOutput):
    """Rasa's responses to a Telegram chat. A failed delivery is recorded in
    ``channel_deliveries`` with its reason, and a customer who blocked the bot is marked
    unreachable (no more calls until they write again).

    ``raise_on_failure``: raise :class:`DeliveryFailed` after recording. Off while the bot
    answers a customer (Rasa must finish the turn); on for :meth:`get_output_channel`, which
    Rasa's HTTP API uses for agent replies, so a failed reply is an error response there and is
    not stored in the transcript as if it had been sent.
    """

    channel = CHANNEL

    def __init__(
        self,
        bot: Bot,
        store: LazyStore,
        retry: RetryPolicy,
        **options: bool,
    ) -> None:
        super().__init__(**options)
        self.bot = bot
        self._store = store
        self._retry = retry

    async def _send(
        self,
        recipient_id: str,
        kind: str,
        text: Optional[str],
        call: Callable[[], Awaitable[Any]],
        media_url: Optional[str] = None,
    ) -> bool:
        store = await self._store.get()
        if self.window_open:
            unreachable = False
        else:
            unreachable = (await store.run(store.contact, CHANNEL, recipient_id)).unreachable
        if unreachable:
            await store.run(store.record_failure, CHANNEL, recipient_id, DeliveryReason.BLOCKED,
                            kind=kind, text=text, media_url=media_url)
            logger.info("not sending to %s: marked unreachable", pseudo(recipient_id))
            return self._failed(DeliveryReason.BLOCKED)
        try:
            result, attempts = await call_with_retries(
                call, classify, self._retry, f"telegram {kind} to {pseudo(recipient_id)}"
            )
        except DeliveryFailed as failure:
            logger.warning(
                "telegram %s to %s failed after %d attempt(s): %s (%s)",
                kind, recipient_id, failure.attempts, failure.reason, failure,
            )
            if failure.reason is DeliveryReason.BLOCKED:
                self.window_open = False
                await store.run(store.mark_unreachable, CHANNEL, recipient_id, "blocked")
            await store.run(
                store.record_failure, CHANNEL, recipient_id, failure.reason, kind=kind,
                text=text, media_url=media_url, provider_detail=str(failure),
                attempts=failure.attempts,
            )
            return self._failed(failure.reason, failure.attempts)
        message_id = str(result.message_id) if isinstance(result, Message) else None
        await store.run(
            store.record_delivery,
            CHANNEL,
            recipient_id,
            status="sent",
            kind=kind,
            text=text,
            media_url=media_url,
            provider_message_id=message_id,
            attempts=attempts,
        )
        return True

    async def _send_parts(
        self,
        recipient_id: str,
        text: str,
        reply_markup: Optional[InlineKeyboardMarkup] = None,
    ) -> None:
        parts = split_text(text, MESSAGE_LIMIT, utf16_length)
        chat_id = chat_id_of(recipient_id)
        for index, part in enumerate(parts):
            markup = reply_markup if index == len(parts) - 1 else None

            def call(part: str = part, markup: Optional[InlineKeyboardMarkup] = markup) -> Any:
                # No parse_mode: the text is shown exactly as written, nothing to escape.
                return self.bot.send_message(chat_id, part, reply_markup=markup)

            kind = "buttons" if markup is not None else "text"
            if not await self._send(recipient_id, kind, part, call):
                rest = parts[index + 1 :]
                if rest:  # not sent without its start; recorded so nothing is silently lost
                    await self._record_unsent(recipient_id, "\n\n".join(rest))
                return

    async def _record_unsent(self, recipient_id: str, text: str) -> None:
        store = await self._store.get()
        await store.run(
            store.record_failure, CHANNEL, recipient_id, DeliveryReason.PREVIOUS_PART_FAILED,
            text=text,
        )

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        await self._send_parts(recipient_id, text)

    async def _callback_data(self, payload: str) -> str:
        if len(payload.encode("utf-8")) <= CALLBACK_DATA_LIMIT and not payload.startswith(
            STORED_PAYLOAD_PREFIX
        ):
            return payload
        store = await self._store.get()
        return STORED_PAYLOAD_PREFIX + await store.run(store.payload_key, payload)

    async def send_text_with_buttons(
        self, recipient_id: str, text: str, buttons: List[Dict[str, Any]], **kwargs: Any
    ) -> None:
        rows = []
        for button in buttons:
            title = str(button.get("title") or button.get("payload") or "")
            if button.get("url"):
                rows.append([InlineKeyboardButton(title, url=str(button["url"]))])
                continue
            payload = str(button.get("payload") or title)
            data = await self._callback_data(payload)
            rows.append([InlineKeyboardButton(title, callback_data=data)])
        await self._send_parts(recipient_id, text, InlineKeyboardMarkup(rows) if rows else None)

    async def send_image_url(self, recipient_id: str, image: str, **kwargs: Any) -> None:
        chat_id = chat_id_of(recipient_id)
        await self._send(
            recipient_id, "image", None, lambda: self.bot.send_photo(chat_id, image), image
        )

    async def send_document(self, recipient_id: str, url: str) -> None:
        chat_id = chat_id_of(recipient_id)
        await self._send(
            recipient_id, "document", None, lambda: self.bot.send_document(chat_id, url), url
        )


__all__ = ["CHANNEL", "TelegramOutput", "chat_id_of", "classify"]
