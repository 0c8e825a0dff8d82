"""WhatsApp channel via Twilio: ``channels.whatsapp.WhatsAppInput`` in credentials.yml.

``POST /webhooks/whatsapp/webhook``   inbound messages
``POST /webhooks/whatsapp/status``    delivery status callbacks

Both check ``X-Twilio-Signature`` against ``PUBLIC_BASE_URL`` + path (403 otherwise). Each
``MessageSid`` is accepted once (persisted); the webhook answers with empty TwiML at once and
the message is handled in the background. Sender id: the ``From`` address, ``whatsapp:+49...``.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import timedelta
from typing import Any, Dict, List, Optional
from urllib.parse import parse_qs

from rasa.core.channels.channel import InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from twilio.request_validator import RequestValidator

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
    log_without_understanding,
)
from channels._retry import RetryPolicy
from channels._store import ChannelStore, MediaItem
from channels._texts import FAILURE_DETAILS, OPTED_IN, OPTED_OUT
from channels._whatsapp_output import (
    CHANNEL,
    REASON_BY_CODE,
    SERVICE_WINDOW,
    STATUS_PATH,
    WhatsAppOutput,
    WhatsAppSender,
)

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Twilio-Signature"
WEBHOOK_PATH = "/webhooks/whatsapp/webhook"
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
STOP_WORDS = {"STOP", "STOPP", "ABMELDEN", "UNSUBSCRIBE", "STOPALL", "END", "QUIT", "CANCEL"}
START_WORDS = {"START", "UNSTOP", "ANMELDEN", "SUBSCRIBE"}
# Words that also cancel the order form: while a form is active they go to Rasa instead.
FORM_CANCEL_WORDS = {"STOP", "STOPP", "CANCEL", "END", "QUIT"}
CHOICE_MAX_AGE_HOURS = 24
# Dedupe rows of status callbacks (MessageSid + status) live under this channel name.
STATUS_CHANNEL = "whatsapp_status"
_NUMBER = re.compile(r"^\s*(\d{1,2})\s*[.)]?\s*$")


def keyword(body: str) -> str:
    return re.sub(r"[^A-ZÄÖÜ]", "", body.strip().upper()) if len(body) <= 20 else ""


def media_items(form: Dict[str, str]) -> List[MediaItem]:
    """``MediaUrlN``/``MediaContentTypeN`` and a shared location as media items."""
    items: List[MediaItem] = []
    try:
        count = int(form.get("NumMedia") or 0)
    except ValueError:
        count = 0
    for index in range(min(count, 10)):
        url = form.get(f"MediaUrl{index}")
        if not url:
            continue
        content_type = form.get(f"MediaContentType{index}") or ""
        main = content_type.split("/", 1)[0]
        kind = {"image": "photo", "audio": "voice", "video": "video"}.get(main, "document")
        if content_type == "image/webp":
            kind = "sticker"
        items.append(MediaItem(kind, url, content_type or None))
    if form.get("Latitude") and form.get("Longitude"):
        details: Dict[str, Any] = {
            "latitude": _float(form["Latitude"]),
            "longitude": _float(form["Longitude"]),
        }
        for field in ("Address", "Label"):
            if form.get(field):
                details[field.lower()] = form[field]
        items.append(MediaItem("location", None, None, details))
    return items


class FormParams(Dict[str, List[str]]):
    """A form's fields with all their values, blank ones included (Twilio signs ``Body=`` of a
    media message too; Sanic's ``request.form`` would drop it and break the signature)."""

    def getlist(self, name: str) -> List[str]:
        return list(self.get(name, []))

    def first(self, name: str) -> Optional[str]:
        values = self.get(name)
        return values[0] if values else None


def parse_form(request: Request) -> FormParams:
    if request.content_type.startswith("application/x-www-form-urlencoded"):
        body = (request.body or b"").decode("utf-8", errors="replace")
        return FormParams(parse_qs(body, keep_blank_values=True))
    form: Any = request.form
    return FormParams({key: list(form.getlist(key)) for key in form or ()})


def _float(value: str) -> Optional[float]:
    try:
        return float(value)
    except ValueError:
        return None


class WhatsAppInput(InputChannel):
    """Customers on WhatsApp through a Twilio WhatsApp sender."""

    @classmethod
    def name(cls) -> str:
        return CHANNEL

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[str, Any]]) -> "WhatsAppInput":
        # Nothing secret lives in credentials.yml: everything comes from bot.settings.
        return cls(load_settings())

    def __init__(self, settings: Settings, retry: Optional[RetryPolicy] = None) -> None:
        if settings.whatsapp is None:
            raise ConfigurationError(
                "the WhatsApp channel is listed in credentials.yml but TWILIO_ACCOUNT_SID, "
                "TWILIO_AUTH_TOKEN and TWILIO_WHATSAPP_FROM are not set"
            )
        self.settings = settings
        self.public_base_url = settings.public_base_url
        if not self.public_base_url:
            logger.warning(
                "WhatsApp: PUBLIC_BASE_URL is not set; Twilio signatures are checked against "
                "the address this server sees, which fails behind a proxy or tunnel"
            )
        self.validator = RequestValidator(settings.whatsapp.auth_token)
        self.max_chars = settings.inbound_max_chars
        self.store = LazyStore(settings.support_db_url)
        self.sender = WhatsAppSender(
            settings.whatsapp, self.store, self.public_base_url, retry or RetryPolicy()
        )
        self.tasks = SerialTasks()

    def get_output_channel(self) -> WhatsAppOutput:
        """For Rasa's HTTP API (agent replies): raises if the message is refused or fails."""
        return WhatsAppOutput(self.sender, raise_on_failure=True)

    def reply_channel(self) -> WhatsAppOutput:
        """For answering a customer's message: failures are recorded, never raised."""
        return WhatsAppOutput(self.sender)

    def _signature_ok(self, request: Request, form: FormParams, path: str) -> bool:
        signature = request.headers.get(SIGNATURE_HEADER)
        if not signature:
            return False
        if self.public_base_url:
            url = self.public_base_url + path
            if request.query_string:
                url += "?" + request.query_string
        else:
            url = request.url
        return bool(self.validator.validate(url, form, signature))

    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        hook = Blueprint("bergpfad_whatsapp", __name__)

        @hook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @hook.route("/webhook", methods=["POST"], stream=True)
        async def webhook(request: Request) -> HTTPResponse:
            try:
                await read_body_limited(request, MAX_PROVIDER_BODY_BYTES)
            except BodyTooLargeError:
                logger.warning("whatsapp webhook: body too large; rejected")
                return response.text("too large", status=413)
            params = parse_form(request)
            if not self._signature_ok(request, params, WEBHOOK_PATH):
                logger.warning("whatsapp webhook: missing or invalid Twilio signature; rejected")
                return response.text("invalid signature", status=403)
            form = {key: params.first(key) for key in params}
            agent = getattr(request.app.ctx, "agent", None)
            if not form.get("MessageSid") and not form.get("SmsMessageSid"):
                return response.text("not a message", status=400)
            await self.accept(form, agent, on_new_message)
            return response.text(EMPTY_TWIML, content_type="text/xml")

        @hook.route("/status", methods=["POST"], stream=True)
        async def status(request: Request) -> HTTPResponse:
            try:
                await read_body_limited(request, MAX_PROVIDER_BODY_BYTES)
            except BodyTooLargeError:
                return response.text("too large", status=413)
            params = parse_form(request)
            if not self._signature_ok(request, params, STATUS_PATH):
                logger.warning("whatsapp status callback: invalid Twilio signature; rejected")
                return response.text("invalid signature", status=403)
            sid = params.first("MessageSid") or params.first("SmsSid")
            state = params.first("MessageStatus") or params.first("SmsStatus") or ""
            if sid and state:
                code = params.first("ErrorCode") or None
                reason = REASON_BY_CODE.get(code or "", "undelivered") if code else None
                store = await self.store.get()
                report = f"{sid}:{state.lower()}:{code or ''}"[:128]
                if not await store.run(store.claim_inbound, STATUS_CHANNEL, report, None):
                    logger.info("whatsapp status %s for %s already handled; dropped", state, sid)
                    return response.empty(status=204)
                recipient = await store.run(
                    store.update_status,
                    sid,
                    state.lower(),
                    reason=reason,
                    detail=FAILURE_DETAILS.get(reason or "", None),
                    error_code=code,
                    channel=CHANNEL,
                    recipient=params.first("To"),
                )
                if recipient is None:
                    logger.info("whatsapp status %s for unknown message %s", state, sid)
                elif reason == "whatsapp_24h_window":  # WhatsApp says the window is closed
                    await store.run(store.set_last_inbound, CHANNEL, recipient, None)
            return response.empty(status=204)

        @hook.listener("after_server_start")
        async def start(app: Any, _loop: Any) -> None:
            try:
                await self.catch_up(getattr(app.ctx, "agent", None), on_new_message)
            except Exception:  # noqa: BLE001 - the server must start all the same
                logger.exception("%s: could not catch up on unhandled messages", CHANNEL)

        @hook.listener("before_server_stop")
        async def stop(_app: Any, _loop: Any) -> None:
            await self.tasks.drain(timeout=10)
            await self.sender.close()

        return hook

    async def accept(
        self, form: Dict[str, Any], agent: Any, on_new_message: OnNewMessage
    ) -> bool:
        """Take a message once (False for a redelivery) and handle it in the background."""
        sid = str(form.get("MessageSid") or form.get("SmsMessageSid"))
        sender_id = str(form.get("From") or "")
        if not sender_id.startswith("whatsapp:"):
            logger.info(
                "whatsapp: ignoring non-WhatsApp message %s from %s", sid, pseudo(sender_id)
            )
            return False
        store = await self.store.get()
        payload = json.dumps(form, ensure_ascii=False)
        if not await store.run(store.claim_inbound, CHANNEL, sid, sender_id, payload):
            logger.info("whatsapp: message %s already handled; dropped", sid)
            return False
        self._spawn(sid, form, agent, on_new_message)
        return True

    def _spawn(
        self, sid: str, form: Dict[str, Any], agent: Any, on_new_message: OnNewMessage
    ) -> None:
        async def work() -> None:
            try:
                await self.handle(form, agent, on_new_message)
            finally:  # also after an error: only a crash leaves a message for catching up
                store = await self.store.get()
                await store.run(store.mark_handled, CHANNEL, sid)

        self.tasks.spawn(str(form.get("From")), work, f"whatsapp {sid}")

    async def catch_up(self, agent: Any, on_new_message: OnNewMessage) -> int:
        """Handle messages accepted shortly before the server stopped but never handled."""
        store = await self.store.get()
        pending = await store.run(store.unhandled_since, CHANNEL, utcnow() - CATCH_UP_WINDOW)
        for sid, payload in pending:
            form = json.loads(payload)
            if await store.run(store.was_answered, CHANNEL, sid) or await already_answered(
                agent, str(form.get("From") or ""), sid
            ):
                logger.info("whatsapp: message %s was answered before a restart", sid)
                await store.run(store.mark_handled, CHANNEL, sid)
                continue
            logger.info("whatsapp: catching up message %s accepted before a restart", sid)
            self._spawn(sid, form, agent, on_new_message)
        return len(pending)

    async def _form_active(self, agent: Any, sender_id: str) -> bool:
        if agent is None:
            return False
        tracker = await agent.tracker_store.retrieve(sender_id)
        return bool(tracker is not None and tracker.active_loop_name)

    async def handle(
        self, form: Dict[str, Any], agent: Any, on_new_message: OnNewMessage
    ) -> None:
        sid = str(form.get("MessageSid") or form.get("SmsMessageSid"))
        sender_id = str(form["From"])
        body = str(form.get("Body") or "").strip()
        store = await self.store.get()
        before = await store.run(store.touch_contact, CHANNEL, sender_id)
        output = self.reply_channel()
        metadata: Dict[str, Any] = {
            "whatsapp": {
                "message_sid": sid,
                "profile_name": form.get("ProfileName"),
                "wa_id": form.get("WaId"),
            }
        }
        word = keyword(body)
        if word in STOP_WORDS and not (
            word in FORM_CANCEL_WORDS and await self._form_active(agent, sender_id)
        ):
            await store.run(store.set_opted_out, CHANNEL, sender_id, True)
            logger.info("whatsapp: %s opted out", pseudo(sender_id))
            await self._log(agent, output, sender_id, body, sid, metadata)
            if not before.opted_out:
                await self.sender.send(sender_id, OPTED_OUT, confirming_opt_out=True)
            return
        if word in START_WORDS and before.opted_out:
            await store.run(store.set_opted_out, CHANNEL, sender_id, False)
            logger.info("whatsapp: %s opted in again", pseudo(sender_id))
            await self._log(agent, output, sender_id, body, sid, metadata)
            await output.send_text_message(sender_id, OPTED_IN)
            await self.sender.flush_held(sender_id)
            return
        if before.opted_out:
            # Recorded for the team, but nothing is sent until the customer sends START.
            await self._log(agent, output, sender_id, body or "[Nachricht]", sid, metadata)
            return
        if before.last_inbound_at is None or before.last_inbound_at < utcnow() - SERVICE_WINDOW:
            # Replies are only held while the window is closed, and it was until now.
            await self.sender.flush_held(sender_id)
        # The customer just wrote and is not opted out: the bot's answers need no lookup.
        output = WhatsAppOutput(self.sender, window_open=True)
        if len(body) > self.max_chars:
            logger.info("whatsapp: message %s too long; refused", sid)
            await output.send_text_message(sender_id, too_long_text(self.max_chars))
            return
        text = await self._text_for_rasa(agent, store, sender_id, form, body, metadata)
        await dispatch(
            channel=CHANNEL,
            store=store,
            agent=agent,
            on_new_message=on_new_message,
            output_channel=output,
            sender_id=sender_id,
            text=text,
            media=media_items(form),
            metadata=metadata,
            external_id=sid,
        )

    async def _text_for_rasa(
        self,
        agent: Any,
        store: ChannelStore,
        sender_id: str,
        form: Dict[str, Any],
        body: str,
        metadata: Dict[str, Any],
    ) -> str:
        payload = form.get("ButtonPayload")
        # A quick-reply button of one of our approved templates (Twilio-signed, not typed).
        if payload and len(str(payload)) <= self.max_chars:
            metadata["whatsapp"]["button"] = True
            return str(payload)
        number = _NUMBER.match(body)
        if number:
            chosen = await store.run(
                store.take_choice, CHANNEL, sender_id, int(number.group(1)),
                timedelta(hours=CHOICE_MAX_AGE_HOURS),
            )
            if chosen is not None:  # stored by this channel when it offered the options
                metadata["whatsapp"]["button"] = True
                metadata["whatsapp"]["choice"] = int(number.group(1))
                return chosen
        # Typed "/intent" text would bypass NLU: only an offered button payload may do that.
        return await customer_text(agent, sender_id, body)

    async def _log(
        self,
        agent: Any,
        output: WhatsAppOutput,
        sender_id: str,
        text: str,
        sid: str,
        metadata: Dict[str, Any],
    ) -> None:
        if agent is None:
            return
        await log_without_understanding(
            agent,
            UserMessage(
                text, output, sender_id, input_channel=CHANNEL, message_id=sid, metadata=metadata
            ),
            None,
        )


__all__ = ["WhatsAppInput", "WhatsAppOutput"]
