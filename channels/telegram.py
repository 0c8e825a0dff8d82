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

from rasa.core.channels.channel import InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from telegram import Bot, Message, Update
from telegram.error import Conflict, InvalidToken, TelegramError

from bot.errors import ConfigurationError
from bot.models import utcnow
from bot.privacy import pseudo
from bot.settings import Settings, load_settings
from channels._guard import (
    MAX_PROVIDER_BODY_BYTES,
    BodyTooLargeError,
    customer_text,
    read_body_limited,
    too_long_text,
)
from channels._inbound import (
    CATCH_UP_WINDOW,
    LazyStore,
    OnNewMessage,
    SerialTasks,
    already_answered,
    dispatch,
    handle_and_answer,
)
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


class TelegramInput(InputChannel):
    """Customers on Telegram. Sender id: the chat id as a string."""

    @classmethod
    def name(cls) -> str:
        return CHANNEL

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[str, Any]]) -> "TelegramInput":
        # Nothing secret lives in credentials.yml: everything comes from bot.settings.
        return cls(load_settings())

    def __init__(
        self,
        settings: Settings,
        retry: Optional[RetryPolicy] = None,
        poll_timeout: float = 25.0,
    ) -> None:
        if settings.telegram is None:
            raise ConfigurationError(
                "the Telegram channel is listed in credentials.yml but TELEGRAM_TOKEN and "
                "TELEGRAM_SECRET_TOKEN are not set"
            )
        self.settings = settings
        self.token = settings.telegram.token
        self._secret = settings.telegram.secret_token.encode("utf-8")
        self.api_base_url = settings.telegram.api_base_url
        self.max_chars = settings.inbound_max_chars
        self.polling = not settings.public_base_url
        self.retry = retry or RetryPolicy()
        self.poll_timeout = poll_timeout
        self.store = LazyStore(settings.support_db_url)
        self.tasks = SerialTasks()
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
        return TelegramOutput(self.bot, self.store, self.retry, reachable=True)

    def _secret_ok(self, request: Request) -> bool:
        given = request.headers.get(SECRET_HEADER)
        if not given:
            return False
        # Sanic keeps non-UTF-8 header bytes as surrogates: encode them back, never raise.
        return hmac.compare_digest(given.encode("utf-8", "surrogateescape"), self._secret)

    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        hook = Blueprint("bergpfad_telegram", __name__)

        @hook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok", "mode": "polling" if self.polling else "webhook"})

        @hook.route("/webhook", methods=["POST"], stream=True)
        async def webhook(request: Request) -> HTTPResponse:
            if not self._secret_ok(request):  # before anything else
                logger.warning("telegram webhook: missing or wrong secret token; rejected")
                return response.json({"ok": False}, status=403)
            try:
                data = json.loads(await read_body_limited(request, MAX_PROVIDER_BODY_BYTES))
            except BodyTooLargeError:
                logger.warning("telegram webhook: body too large; rejected")
                return response.json({"ok": False, "error": "too large"}, status=413)
            except (ValueError, RecursionError):
                return response.json({"ok": False, "error": "invalid JSON"}, status=400)
            if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
                return response.json({"ok": False, "error": "not an update"}, status=400)
            agent = getattr(request.app.ctx, "agent", None)
            await self.accept(data, agent, on_new_message)
            return response.json({"ok": True})

        @hook.listener("after_server_start")
        async def start(app: Any, _loop: Any) -> None:
            try:
                await self.catch_up(getattr(app.ctx, "agent", None), on_new_message)
            except Exception:  # noqa: BLE001 - the server must start all the same
                logger.exception("%s: could not catch up on unhandled messages", CHANNEL)
            if self.polling:
                logger.info("Telegram: no PUBLIC_BASE_URL, long-polling for updates")
                self._poller = asyncio.ensure_future(self._poll(app, on_new_message))

        @hook.listener("before_server_stop")
        async def stop(_app: Any, _loop: Any) -> None:
            if self._poller is not None:
                self._poller.cancel()
            await self.tasks.drain(timeout=10)
            if self._bot is not None:
                try:
                    await self._bot.shutdown()
                except TelegramError:
                    pass

        return hook

    async def accept(self, data: Dict[str, Any], agent: Any, on_new_message: OnNewMessage) -> bool:
        """Take an update once (False for a redelivery) and handle it in the background."""
        update_id = int(data["update_id"])
        try:
            update = Update.de_json(data, None)
        except Exception:  # noqa: BLE001 - a malformed update must not stop the others
            logger.warning("telegram: could not parse update %s; ignored", update_id)
            return False
        chat = update.effective_chat
        store = await self.store.get()
        if not await store.run(
            store.claim_inbound,
            CHANNEL,
            str(update_id),
            str(chat.id) if chat else None,
            json.dumps(data, ensure_ascii=False),
        ):
            logger.info("telegram: update %s already handled; dropped", update_id)
            return False
        self._spawn(update, agent, on_new_message)
        return True

    def _spawn(self, update: Update, agent: Any, on_new_message: OnNewMessage) -> None:
        chat = update.effective_chat
        key = str(chat.id) if chat else f"update:{update.update_id}"

        async def work() -> None:
            try:
                await self.handle(update, agent, on_new_message)
            finally:  # also after an error: only a crash leaves an update for catching up
                store = await self.store.get()
                await store.run(store.mark_handled, CHANNEL, str(update.update_id))

        self.tasks.spawn(key, work, f"telegram update {update.update_id}")

    async def catch_up(self, agent: Any, on_new_message: OnNewMessage) -> int:
        """Handle updates accepted shortly before the server stopped but never handled."""
        store = await self.store.get()
        pending = await store.run(store.unhandled_since, CHANNEL, utcnow() - CATCH_UP_WINDOW)
        for update_id, payload in pending:
            update = Update.de_json(json.loads(payload), None)
            chat = update.effective_chat
            if await store.run(store.was_answered, CHANNEL, update_id) or (
                chat is not None and await already_answered(agent, str(chat.id), update_id)
            ):
                logger.info("telegram: update %s was answered before a restart", update_id)
                await store.run(store.mark_handled, CHANNEL, update_id)
                continue
            logger.info("telegram: catching up update %s accepted before a restart", update_id)
            self._spawn(update, agent, on_new_message)
        return len(pending)

    async def handle(self, update: Update, agent: Any, on_new_message: OnNewMessage) -> None:
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
        if text and len(text) > self.max_chars:
            logger.info("telegram: message %s too long; refused", message.message_id)
            await output.send_text_message(sender_id, too_long_text(self.max_chars))
            return
        await dispatch(
            channel=CHANNEL,
            store=store,
            agent=agent,
            on_new_message=on_new_message,
            output_channel=output,
            sender_id=sender_id,
            text=await command_text(agent, sender_id, text) if text else text,
            media=media,
            metadata=metadata,
            external_id=f"tg-{update.update_id}",
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
