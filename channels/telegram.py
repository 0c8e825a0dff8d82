"""Telegram channel (python-telegram-bot): ``channels.telegram.TelegramInput`` in credentials.yml.

Webhook ``POST /webhooks/telegram/webhook``: the secret token header is checked first
(403 otherwise), each ``update_id`` is accepted once (persisted), the answer is immediate and
the update is handled in the background. Without ``PUBLIC_BASE_URL`` the channel long-polls
Telegram instead, so the bot can be tried from a laptop.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from typing import Any, Dict, List, Optional, Tuple

from rasa.core.channels.channel import UserMessage
from sanic.request import Request
from telegram import Bot, Message, Update
from telegram.error import Conflict, InvalidToken, TelegramError

from bot.privacy import pseudo
from bot.settings import Settings
from channels._guard import customer_text
from channels._inbound import OnNewMessage, handle_and_answer
from channels._lifecycle import Inbound, WebhookChannel, configured
from channels._retry import RetryPolicy, call_with_retries
from channels._store import MediaItem
from channels._telegram_api import ALLOWED_UPDATES, make_bot
from channels._telegram_output import (
    CHANNEL,
    STORED_PAYLOAD_PREFIX,
    TelegramOutput,
    classify,
)

logger = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name
PRIVATE = "private"
EXPIRED_CHOICE = "Diese Auswahl ist leider abgelaufen. Schreib mir deine Frage einfach als Text."


def start_command(text: str) -> bool:
    """True for Telegram's ``/start`` (also ``/start@PaulaBot`` and ``/start <deep link>``)."""
    command = text.strip().partition(" ")[0]
    return command.split("@", 1)[0].lower() == "/start"


async def command_text(agent: Any, sender_id: str, text: str) -> str:
    """Typed text for Rasa. ``/start`` greets; any other ``/…`` goes through the shared guard
    (:func:`channels._guard.customer_text`): only an offered button payload stays an intent."""
    if start_command(text):
        return "/greet"
    return await customer_text(agent, sender_id, text)


def message_content(message: Message) -> Tuple[Optional[str], List[MediaItem]]:
    """The text (or caption) of a message and what else it carries."""
    text = message.text or message.caption
    media: List[MediaItem] = []
    if message.photo:
        largest = message.photo[-1]
        media.append(
            MediaItem(
                "photo",
                largest.file_id,
                "image/jpeg",
                {"file_unique_id": largest.file_unique_id, "width": largest.width,
                 "height": largest.height},
            )
        )
    if message.animation:
        media.append(MediaItem("animation", message.animation.file_id,
                               message.animation.mime_type))
    elif message.document:
        media.append(
            MediaItem(
                "document",
                message.document.file_id,
                message.document.mime_type,
                {"file_name": message.document.file_name} if message.document.file_name else None,
            )
        )
    if message.voice:
        media.append(MediaItem("voice", message.voice.file_id, message.voice.mime_type,
                               {"duration": _seconds(message.voice.duration)}))
    if message.audio:
        media.append(MediaItem("audio", message.audio.file_id, message.audio.mime_type))
    if message.video:
        media.append(MediaItem("video", message.video.file_id, message.video.mime_type))
    if message.video_note:
        media.append(MediaItem("video_note", message.video_note.file_id, "video/mp4"))
    if message.sticker:
        media.append(MediaItem("sticker", message.sticker.file_id, None,
                               {"emoji": message.sticker.emoji} if message.sticker.emoji else None))
    if message.venue:
        venue = message.venue
        media.append(MediaItem("venue", None, None, {
            "title": venue.title, "address": venue.address,
            "latitude": venue.location.latitude, "longitude": venue.location.longitude}))
    elif message.location:
        media.append(MediaItem("location", None, None, {
            "latitude": message.location.latitude, "longitude": message.location.longitude}))
    if message.contact:
        media.append(MediaItem("contact", None, None, {
            "first_name": message.contact.first_name,
            "phone_number": message.contact.phone_number}))
    if not text and not media:
        media.append(MediaItem("other"))
    return text, media


def _seconds(value: Any) -> Any:
    total_seconds = getattr(value, "total_seconds", None)
    return total_seconds() if callable(total_seconds) else value


class TelegramInput(WebhookChannel):
    """Customers on Telegram. Sender id: the chat id as a string."""

    channel = CHANNEL

    def __init__(
        self,
        settings: Settings,
        retry: Optional[RetryPolicy] = None,
        poll_timeout: float = 25.0,
    ) -> None:
        telegram = configured(settings.telegram, CHANNEL)
        super().__init__(settings)
        self.token = telegram.token
        self._secret = telegram.secret_token.encode("utf-8")
        self.api_base_url = telegram.api_base_url
        self.polling = not settings.public_base_url
        self.retry = retry or RetryPolicy()
        self.poll_timeout = poll_timeout
        self._bot: Optional[Bot] = None
        self._poller: Optional["asyncio.Task[None]"] = None

    @property
    def bot(self) -> Bot:
        if self._bot is None:
            self._bot = make_bot(self.token, self.api_base_url)
        return self._bot

    def get_output_channel(self) -> TelegramOutput:
        """For Rasa's HTTP API (agent replies): raises if the message cannot be delivered."""
        return TelegramOutput(self.bot, self.store, self.retry, raise_on_failure=True)

    def reply_channel(self) -> TelegramOutput:
        """For answering a customer who just wrote: failures are recorded, never raised."""
        return TelegramOutput(self.bot, self.store, self.retry, window_open=True)

    # -- the lifecycle's hooks ---------------------------------------------------------------

    def verify(self, request: Request, body: bytes) -> bool:
        return self.verify_headers(request)

    def verify_headers(self, request: Request) -> bool:
        given = request.headers.get(SECRET_HEADER)
        if not given:
            return False
        # Sanic keeps non-UTF-8 header bytes as surrogates: encode them back, never raise.
        return hmac.compare_digest(given.encode("utf-8", "surrogateescape"), self._secret)

    def parse(self, request: Request, body: bytes) -> Optional[List[Dict[str, Any]]]:
        data = json.loads(body)
        if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
            return None
        return [data]

    def identify(self, raw: Dict[str, Any]) -> Optional[Inbound]:
        update_id = raw.get("update_id")
        if not isinstance(update_id, int) or isinstance(update_id, bool):
            return None
        try:
            update = Update.de_json(raw, None)
        except Exception:  # noqa: BLE001 - a malformed update must not stop the others
            logger.warning("telegram: could not parse update %s; ignored", update_id)
            return None
        chat = update.effective_chat if update is not None else None
        message = update.effective_message if update is not None else None
        text = (message.text or message.caption) if message is not None else None
        return Inbound(str(update_id), str(chat.id) if chat else None, f"tg-{update_id}",
                       text=text or None)

    def health(self) -> Dict[str, Any]:
        return {"status": "ok", "mode": "polling" if self.polling else "webhook"}

    async def on_start(self, app: Any, on_new_message: OnNewMessage) -> None:
        if self.polling:
            logger.info("Telegram: no PUBLIC_BASE_URL, long-polling for updates")
            self._poller = asyncio.ensure_future(self._poll(app, on_new_message))

    async def before_drain(self) -> None:
        if self._poller is not None:
            self._poller.cancel()

    async def on_stop(self) -> None:
        if self._bot is not None:
            try:
                await self._bot.shutdown()
            except TelegramError:
                pass

    async def handle(
        self, raw: Dict[str, Any], agent: Any, on_new_message: OnNewMessage
    ) -> None:
        update = Update.de_json(raw, None)
        if update is not None:
            await self.handle_update(update, agent, on_new_message)

    async def handle_update(
        self, update: Update, agent: Any, on_new_message: OnNewMessage
    ) -> None:
        chat = update.effective_chat
        if chat is None:
            logger.debug("telegram: update %s without chat ignored", update.update_id)
            return
        if chat.type != PRIVATE:
            logger.info(
                "telegram: ignoring update %s from %s chat %s", update.update_id, chat.type,
                pseudo(chat.id),
            )
            return
        sender_id = str(chat.id)
        store = await self.store.get()
        if update.my_chat_member is not None:
            status = update.my_chat_member.new_chat_member.status
            if status == "kicked":
                logger.info("telegram: %s blocked the bot; marked unreachable", pseudo(sender_id))
                await store.run(store.mark_unreachable, CHANNEL, sender_id, "blocked")
            elif status == "member":
                await store.run(store.mark_reachable, CHANNEL, sender_id)
            return
        await store.run(store.touch_contact, CHANNEL, sender_id)
        output = self.reply_channel()
        user = update.effective_user
        metadata: Dict[str, Any] = {
            "telegram": {
                "update_id": update.update_id,
                "user": {
                    "id": user.id,
                    "first_name": user.first_name,
                    "language_code": user.language_code,
                }
                if user
                else None,
            }
        }
        if update.callback_query is not None:
            query = update.callback_query
            await self._answer_callback(query.id)
            payload = query.data or ""
            if payload.startswith(STORED_PAYLOAD_PREFIX):
                # Stored by this channel when it sent the buttons: the bot's own payload.
                stored = await store.run(store.payload_for, payload[len(STORED_PAYLOAD_PREFIX):])
                if stored is None:
                    await output.send_text_message(sender_id, EXPIRED_CHOICE)
                    return
                payload = stored
            else:  # callback_data is chosen by the client: only an offered payload counts
                payload = await customer_text(agent, sender_id, payload[:self.max_chars])
            if not payload.strip():
                return
            metadata["telegram"]["button"] = True
            await handle_and_answer(
                on_new_message,
                agent,
                UserMessage(
                    payload,
                    output,
                    sender_id,
                    input_channel=CHANNEL,
                    message_id=f"tg-{update.update_id}",
                    metadata=metadata,
                )
            )
            return
        message = update.message or update.edited_message
        if message is None:
            logger.debug("telegram: update %s of an unhandled type ignored", update.update_id)
            return
        metadata["telegram"]["message_id"] = message.message_id
        if update.edited_message is not None:
            metadata["telegram"]["edited"] = True
        text, media = message_content(message)
        if media and media[0].kind == "other" and len(media) == 1 and not text:
            logger.info(
                "telegram: unsupported message %s from %s", message.message_id, pseudo(sender_id)
            )
        if await self.refuse_too_long(output, sender_id, text, str(message.message_id)):
            return
        await self.to_rasa(
            agent, on_new_message, output, sender_id,
            await command_text(agent, sender_id, text) if text else text,
            media, metadata, f"tg-{update.update_id}",
        )

    async def _answer_callback(self, query_id: str) -> None:
        """Stop the button's spinner; a failure here must not lose the customer's choice."""
        try:
            await call_with_retries(
                lambda: self.bot.answer_callback_query(query_id),
                classify,
                RetryPolicy(attempts=2, base_delay=0.2, max_retry_after=2),
                "telegram answerCallbackQuery",
            )
        except Exception as error:  # noqa: BLE001 - logged, the message still goes on
            logger.warning("telegram: could not answer callback query %s: %s", query_id, error)

    async def _poll(self, app: Any, on_new_message: OnNewMessage) -> None:
        """Long-polling loop (no public address): getUpdates, then the same path as webhooks."""
        offset: Optional[int] = None
        failures = 0
        while True:
            try:
                updates = await self.bot.get_updates(
                    offset=offset,
                    timeout=int(self.poll_timeout),
                    allowed_updates=ALLOWED_UPDATES,
                    read_timeout=self.poll_timeout + 10,
                )
                failures = 0
            except asyncio.CancelledError:
                raise
            except InvalidToken:
                logger.error("Telegram rejected TELEGRAM_TOKEN; polling stopped")
                return
            except Conflict as error:
                logger.error(
                    "Telegram polling blocked (%s): a webhook is registered. Run "
                    "`python -m bot telegram delete-webhook` or set PUBLIC_BASE_URL.",
                    error,
                )
                await asyncio.sleep(30)
                continue
            except Exception as error:  # noqa: BLE001 - network trouble: back off and go on
                failures += 1
                delay = min(60.0, self.retry.backoff(min(failures, 8)))
                logger.warning("Telegram polling failed (%s); retrying in %.0f s", error, delay)
                await asyncio.sleep(delay)
                continue
            for update in updates:
                offset = update.update_id + 1
                agent = getattr(app.ctx, "agent", None)
                try:
                    await self.accept(update.to_dict(), agent, on_new_message)
                except Exception:  # noqa: BLE001 - one bad update must not stop polling
                    logger.exception("telegram: could not accept update %s", update.update_id)


__all__ = ["ALLOWED_UPDATES", "TelegramInput", "TelegramOutput", "command_text", "start_command"]
