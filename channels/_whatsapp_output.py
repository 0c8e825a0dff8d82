"""Sending to WhatsApp customers through Twilio's asynchronous client.

Every message is recorded in ``channel_deliveries`` (status updated by Twilio's status
callback). Before sending, the customer's state decides:

* opted out (STOP)                      -> not sent, ``failed`` / ``opted_out``
* outside WhatsApp's 24-hour window     -> with ``TWILIO_TEMPLATE_CONTENT_SID``: the approved
  template is sent once and the message is ``held`` until the customer writes again;
  without a template: not sent, ``failed`` / ``whatsapp_24h_window``
* otherwise sent (split at 1600 characters), retried on 429/5xx/timeouts.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import Any, Dict, List, Optional

import aiohttp
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from bot.models import utcnow
from bot.privacy import pseudo
from bot.settings import WhatsAppSettings
from channels._inbound import LazyStore
from channels._output import MessengerOutput
from channels._retry import DeliveryFailed, RetryPolicy, Verdict, call_with_retries
from channels._split import split_text
from channels._store import ChannelStore
from channels._texts import numbered_options
from channels._twilio_http import RewritingAsyncHttpClient
from channels.delivery import DeliveryReason

logger = logging.getLogger(__name__)

CHANNEL = "whatsapp"
BODY_LIMIT = 1600
SERVICE_WINDOW = timedelta(hours=24)
STATUS_PATH = "/webhooks/whatsapp/status"

# Twilio error codes -> our failure reasons.
_R = DeliveryReason
REASON_BY_CODE: Dict[str, DeliveryReason] = {
    "63016": _R.WHATSAPP_WINDOW,
    "21610": _R.OPTED_OUT,
    "21211": _R.INVALID_RECIPIENT,
    "21614": _R.INVALID_RECIPIENT,
    "63003": _R.INVALID_RECIPIENT,
    "63024": _R.INVALID_RECIPIENT,
    "20429": _R.RATE_LIMITED,
    "63018": _R.RATE_LIMITED,
    "30003": _R.UNDELIVERED,
    "30005": _R.INVALID_RECIPIENT,
    "30006": _R.INVALID_RECIPIENT,
    "30008": _R.UNDELIVERED,
}
RETRYABLE_CODES = ("20429", "63018")


def classify(error: BaseException) -> Verdict:
    """Which Twilio errors are worth another try."""
    if isinstance(error, TwilioRestException):
        code = str(error.code) if error.code else None
        if error.status == 429 or code in RETRYABLE_CODES:
            return Verdict(True, _R.RATE_LIMITED, error_code=code)
        if error.status >= 500:
            return Verdict(True, _R.PROVIDER_UNAVAILABLE, error_code=code)
        return Verdict(False, REASON_BY_CODE.get(code or "", _R.REJECTED), error_code=code)
    if isinstance(error, (aiohttp.ClientError, asyncio.TimeoutError, ConnectionError)):
        return Verdict(True, _R.PROVIDER_UNAVAILABLE)
    return Verdict(False, _R.REJECTED)


class WhatsAppSender:
    """Shared by all WhatsApp output channels of one Rasa process (one HTTP session)."""

    def __init__(
        self,
        settings: WhatsAppSettings,
        store: LazyStore,
        public_base_url: str,
        retry: RetryPolicy,
        timeout: float = 10.0,
    ) -> None:
        self.settings = settings
        self.store = store
        self.retry = retry
        self.timeout = timeout
        self.status_callback = f"{public_base_url}{STATUS_PATH}" if public_base_url else None
        self._client: Optional[Client] = None
        self._http: Optional[RewritingAsyncHttpClient] = None

    @property
    def client(self) -> Client:
        """twilio ``Client`` with the async HTTP client; created on first use inside the loop."""
        if self._client is None:
            self._http = RewritingAsyncHttpClient(self.settings.api_base_url, self.timeout)
            self._client = Client(
                self.settings.account_sid, self.settings.auth_token, http_client=self._http
            )
        return self._client

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()
            self._http = None
            self._client = None

    async def _create(self, **params: Any) -> Any:
        params = {key: value for key, value in params.items() if value is not None}
        if self.status_callback:
            params["status_callback"] = self.status_callback
        return await self.client.messages.create_async(
            to=params.pop("to"), from_=self.settings.whatsapp_from, **params
        )

    async def send(
        self,
        recipient_id: str,
        body: Optional[str],
        media_url: Optional[str] = None,
        kind: str = "text",
        confirming_opt_out: bool = False,
        window_open: bool = False,
    ) -> Optional[DeliveryReason]:
        """Send (or hold, or refuse with a recorded reason) one message. Never raises; returns
        the failure reason, None if sent or held for the 24-hour window.

        ``confirming_opt_out``: the one message an opted-out customer still gets, the
        confirmation of their STOP. ``window_open``: the caller knows the customer just wrote
        and is not opted out (the bot answering them), so the lookup is skipped.
        """
        store = await self.store.get()
        if not window_open:
            contact = await store.run(store.contact, CHANNEL, recipient_id)
            if contact.opted_out and not confirming_opt_out:
                return await self._refuse(
                    store, recipient_id, body, media_url, kind, _R.OPTED_OUT
                )
            if not (
                contact.last_inbound_at is not None
                and contact.last_inbound_at >= utcnow() - SERVICE_WINDOW
            ):
                return await self._outside_window(
                    store, recipient_id, body, media_url, kind,
                    contact.template_sent_at is not None,
                )
        parts = split_text(body, BODY_LIMIT) if body else []
        if not parts:
            parts = [""]
        for index, part in enumerate(parts):
            failed = await self._deliver(
                store, None, recipient_id, part or None, media_url if index == 0 else None, kind
            )
            if failed:
                return failed
        return None

    async def _deliver(
        self,
        store: ChannelStore,
        row: Optional[int],
        recipient_id: str,
        body: Optional[str],
        media_url: Optional[str],
        kind: str = "text",
    ) -> Optional[DeliveryReason]:
        """Send one message; the failure reason, or None once Twilio accepted it. Recorded in
        ``row`` (a held message) or in a new row written after the call (one write, off the
        path to the customer)."""
        try:
            message, attempts = await call_with_retries(
                lambda: self._create(
                    to=recipient_id, body=body, media_url=[media_url] if media_url else None
                ),
                classify,
                self.retry,
                f"whatsapp message to {pseudo(recipient_id)}",
            )
        except DeliveryFailed as failure:
            logger.warning(
                "whatsapp to %s failed after %d attempt(s): %s (%s)",
                recipient_id, failure.attempts, failure.reason, failure,
            )
            outcome: Dict[str, Any] = {
                "status": "failed",
                "reason": failure.reason,
                "provider_detail": str(failure),
                "error_code": failure.error_code,
                "attempts": failure.attempts,
            }
            if row is None:
                await store.run(
                    store.record_delivery, CHANNEL, recipient_id, kind=kind, text=body,
                    media_url=media_url, **outcome,
                )
            else:
                await store.run(store.finish_delivery, row, **outcome)
            if failure.reason is _R.OPTED_OUT:
                await store.run(store.set_opted_out, CHANNEL, recipient_id, True)
            if failure.reason is _R.WHATSAPP_WINDOW:  # our clock and WhatsApp's disagree
                await store.run(store.set_last_inbound, CHANNEL, recipient_id, None)
            return failure.reason
        status = str(message.status or "queued")
        if row is None:
            await store.run(
                store.record_delivery, CHANNEL, recipient_id, status=status, kind=kind,
                text=body, media_url=media_url, provider_message_id=message.sid,
                attempts=attempts,
            )
        else:
            await store.run(
                store.finish_delivery, row, status=status, provider_message_id=message.sid,
                attempts=attempts,
            )
        return None

    async def _refuse(
        self,
        store: ChannelStore,
        recipient_id: str,
        body: Optional[str],
        media_url: Optional[str],
        kind: str,
        reason: DeliveryReason,
    ) -> DeliveryReason:
        logger.info("whatsapp: not sending to %s (%s)", pseudo(recipient_id), reason)
        await store.run(store.record_failure, CHANNEL, recipient_id, reason, kind=kind,
                        text=body, media_url=media_url)
        return reason

    async def _outside_window(
        self,
        store: ChannelStore,
        recipient_id: str,
        body: Optional[str],
        media_url: Optional[str],
        kind: str,
        template_already_sent: bool,
    ) -> Optional[DeliveryReason]:
        template = self.settings.template_content_sid
        if not template:
            return await self._refuse(
                store, recipient_id, body, media_url, kind, _R.WHATSAPP_WINDOW
            )
        parts: List[Optional[str]] = list(split_text(body, BODY_LIMIT)) if body else [None]
        for index, part in enumerate(parts):
            await store.run(
                store.record_delivery,
                CHANNEL,
                recipient_id,
                status="held",
                kind=kind,
                text=part,
                media_url=media_url if index == 0 else None,
                reason=_R.HELD_FOR_WINDOW,
            )
        if template_already_sent:
            return None
        row = await store.run(
            store.record_delivery, CHANNEL, recipient_id, status="sending", kind="template",
            text=f"[Vorlage {template}]",
        )
        try:
            message, attempts = await call_with_retries(
                lambda: self._create(to=recipient_id, content_sid=template),
                classify,
                self.retry,
                f"whatsapp template to {pseudo(recipient_id)}",
            )
        except DeliveryFailed as failure:
            await store.run(
                store.finish_delivery, row, status="failed", reason=failure.reason,
                provider_detail=str(failure),
                error_code=failure.error_code, attempts=failure.attempts,
            )
            return None  # the reply itself stays held; the next one tries the template again
        await store.run(
            store.finish_delivery, row, status=str(message.status or "queued"),
            provider_message_id=message.sid, attempts=attempts,
        )
        await store.run(store.note_template_sent, CHANNEL, recipient_id)
        return None

    async def flush_held(self, recipient_id: str) -> int:
        """The customer wrote again: deliver what was held for the window, oldest first."""
        store = await self.store.get()
        held = await store.run(store.held_deliveries, CHANNEL, recipient_id)
        for row in held:
            await store.run(store.finish_delivery, row.id, status="sending")
            if await self._deliver(store, row.id, recipient_id, row.text, row.media_url):
                break
        return len(held)


class WhatsAppOutput(MessengerOutput):
    """Rasa's responses to a WhatsApp customer (sender id ``whatsapp:+49...``).

    ``raise_on_failure``: raise :class:`DeliveryFailed` (after recording) when a message is
    refused or finally fails — for Rasa's HTTP API (agent replies), not for bot answers.
    """

    channel = CHANNEL

    def __init__(self, sender: WhatsAppSender, **options: bool) -> None:
        super().__init__(**options)
        self.sender = sender

    async def _send(
        self,
        recipient_id: str,
        body: Optional[str],
        media_url: Optional[str] = None,
        kind: str = "text",
    ) -> None:
        reason = await self.sender.send(
            recipient_id, body, media_url, kind, window_open=self.window_open
        )
        if reason:
            self._failed(reason)

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        await self._send(recipient_id, text)

    async def send_text_with_buttons(
        self, recipient_id: str, text: str, buttons: List[Dict[str, Any]], **kwargs: Any
    ) -> None:
        """Buttons become a numbered list; the answer "2" maps back to the second payload."""
        titles = [str(b.get("title") or b.get("payload") or "") for b in buttons]
        payloads = [str(b.get("payload") or b.get("title") or "") for b in buttons]
        store = await self.sender.store.get()
        await store.run(store.save_choices, CHANNEL, recipient_id, payloads)
        body = f"{text}\n\n{numbered_options(titles)}"
        await self._send(recipient_id, body, kind="buttons")

    async def send_image_url(self, recipient_id: str, image: str, **kwargs: Any) -> None:
        await self._send(recipient_id, None, media_url=image, kind="image")

    async def send_document(self, recipient_id: str, url: str) -> None:
        await self._send(recipient_id, None, media_url=url, kind="document")


__all__ = [
    "CHANNEL",
    "SERVICE_WINDOW",
    "STATUS_PATH",
    "WhatsAppOutput",
    "WhatsAppSender",
    "classify",
]
