"""WhatsApp channel via Twilio: ``channels.whatsapp.WhatsAppInput`` in credentials.yml.

``POST /webhooks/whatsapp/webhook``   inbound messages
``POST /webhooks/whatsapp/status``    delivery status callbacks

Both check ``X-Twilio-Signature`` against ``PUBLIC_BASE_URL`` + path (403 otherwise). Each
``MessageSid`` is accepted once (persisted); the webhook answers with empty TwiML at once and
the message is handled in the background. Sender id: the ``From`` address, ``whatsapp:+49...``.
"""

from __future__ import annotations

import logging
import re
from datetime import timedelta
from typing import Any, Dict, List, Optional
from urllib.parse import parse_qs

from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from twilio.request_validator import RequestValidator

from bot.models import utcnow
from bot.privacy import pseudo
from bot.settings import Settings
from channels._guard import (
    MAX_PROVIDER_BODY_BYTES,
    BodyTooLargeError,
    customer_text,
    read_body_limited,
)
from channels._inbound import OnNewMessage
from channels._lifecycle import Inbound, WebhookChannel, configured
from channels._optout import opt_out_turn
from channels._retry import RetryPolicy
from channels._store import ChannelStore, MediaItem
from channels._texts import OPTED_OUT
from channels._whatsapp_output import (
    CHANNEL,
    REASON_BY_CODE,
    SERVICE_WINDOW,
    STATUS_PATH,
    WhatsAppOutput,
    WhatsAppSender,
)
from channels.delivery import DeliveryReason

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Twilio-Signature"
WEBHOOK_PATH = "/webhooks/whatsapp/webhook"
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
CHOICE_MAX_AGE_HOURS = 24
# Dedupe rows of status callbacks (MessageSid + status) live under this channel name.
STATUS_CHANNEL = "whatsapp_status"
_NUMBER = re.compile(r"^\s*(\d{1,2})\s*[.)]?\s*$")


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


class WhatsAppInput(WebhookChannel):
    """Customers on WhatsApp through a Twilio WhatsApp sender."""

    channel = CHANNEL

    def __init__(self, settings: Settings, retry: Optional[RetryPolicy] = None) -> None:
        whatsapp = configured(settings.whatsapp, CHANNEL)
        super().__init__(settings)
        self.public_base_url = settings.public_base_url
        if not self.public_base_url:
            logger.warning(
                "WhatsApp: PUBLIC_BASE_URL is not set; Twilio signatures are checked against "
                "the address this server sees, which fails behind a proxy or tunnel"
            )
        self.validator = RequestValidator(whatsapp.auth_token)
        self.sender = WhatsAppSender(
            whatsapp, self.store, self.public_base_url, retry or RetryPolicy()
        )

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

    # -- the lifecycle's hooks ---------------------------------------------------------------

    def verify(self, request: Request, body: bytes) -> bool:
        return self._signature_ok(request, parse_form(request), WEBHOOK_PATH)

    def parse(self, request: Request, body: bytes) -> Optional[List[Dict[str, Any]]]:
        params = parse_form(request)
        form = {key: params.first(key) for key in params}
        if not form.get("MessageSid") and not form.get("SmsMessageSid"):
            return None
        return [form]

    def identify(self, raw: Dict[str, Any]) -> Optional[Inbound]:
        sid = str(raw.get("MessageSid") or raw.get("SmsMessageSid") or "")
        sender_id = str(raw.get("From") or "")
        if not sid:
            return None
        if not sender_id.startswith("whatsapp:"):
            logger.info(
                "whatsapp: ignoring non-WhatsApp message %s from %s", sid, pseudo(sender_id)
            )
            return None
        return Inbound(sid, sender_id, text=str(raw.get("Body") or "").strip() or None)

    def answer(self, status: int, error: str = "") -> HTTPResponse:
        if status == 200:
            return response.text(EMPTY_TWIML, content_type="text/xml")
        return response.text(error, status=status)

    async def on_stop(self) -> None:
        await self.sender.close()

    def add_routes(self, hook: Blueprint, on_new_message: OnNewMessage) -> None:
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
                reason = (
                    REASON_BY_CODE.get(code or "", DeliveryReason.UNDELIVERED) if code else None
                )
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
                    provider_detail=f"Twilio {state} {code}" if code else None,
                    error_code=code,
                    channel=CHANNEL,
                    recipient=params.first("To"),
                )
                if recipient is None:
                    logger.info("whatsapp status %s for unknown message %s", state, sid)
                elif reason is DeliveryReason.WHATSAPP_WINDOW:  # WhatsApp says the window is closed
                    await store.run(store.set_last_inbound, CHANNEL, recipient, None)
            return response.empty(status=204)

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
        if await opt_out_turn(
            channel=CHANNEL, store=store, agent=agent, output=output, sender_id=sender_id,
            text=body, message_id=sid, metadata=metadata, before=before,
            confirm_opt_out=lambda: self.sender.send(
                sender_id, OPTED_OUT, confirming_opt_out=True
            ),
            after_opt_in=lambda: self.sender.flush_held(sender_id),
        ):
            return
        if before.last_inbound_at is None or before.last_inbound_at < utcnow() - SERVICE_WINDOW:
            # Replies are only held while the window is closed, and it was until now.
            await self.sender.flush_held(sender_id)
        # The customer just wrote and is not opted out: the bot's answers need no lookup.
        output = WhatsAppOutput(self.sender, window_open=True)
        if await self.refuse_too_long(output, sender_id, body, sid):
            return
        text = await self._text_for_rasa(agent, store, sender_id, form, body, metadata)
        await self.to_rasa(
            agent, on_new_message, output, sender_id, text, media_items(form), metadata, sid
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


__all__ = ["WhatsAppInput", "WhatsAppOutput"]
