"""Facebook Messenger and Instagram Direct via Meta's webhooks: ``channels.meta.MetaInput``.

``GET  /webhooks/meta/webhook``   Meta's verification handshake (``hub.verify_token``)
``POST /webhooks/meta/webhook``   messages of both platforms (``object`` page / instagram)

Every POST is checked first: ``X-Hub-Signature-256`` must be the HMAC-SHA256 of the raw body
with ``META_APP_SECRET`` (compared in constant time; 403 otherwise, nothing processed). Each
message id (``mid``) is accepted once (persisted); the webhook answers at once and the message
is handled in the background. Sender ids: ``fb:<PSID>`` (Messenger), ``ig:<IGSID>`` (Instagram).
Every field of the body is checked for type and size; unknown objects and events are ignored.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import time
from typing import Any, Dict, List, Optional

from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.settings import MetaSettings, Settings
from channels._guard import customer_text
from channels._inbound import OnNewMessage
from channels._lifecycle import Inbound, WebhookChannel, configured
from channels._media import meta_media_ok
from channels._meta_output import (
    CHANNEL,
    INSTAGRAM,
    MESSENGER,
    MetaOutput,
    MetaSender,
    Outgoing,
    sender_id,
    split_sender,
)
from channels._optout import opt_out_turn
from channels._retry import RetryPolicy
from channels._store import MediaItem
from channels._texts import META_OPTED_OUT

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Hub-Signature-256"
WEBHOOK_PATH = "/webhooks/meta/webhook"
PLATFORMS = {"page": MESSENGER, "instagram": INSTAGRAM}
# Caps on what one webhook body may carry (Meta batches at most a few events).
MAX_ENTRIES = 20
MAX_EVENTS = 50
MAX_ATTACHMENTS = 10
MAX_MID_CHARS = 256
MAX_PAYLOAD_CHARS = 1000
MAX_URL_CHARS = 2048
MAX_CHALLENGE_CHARS = 256
# A signed event older than this is a replay (Meta retries for hours, not days).
MAX_EVENT_AGE_MS = 7 * 24 * 3600 * 1000
_SCOPED_ID = re.compile(r"^[0-9]{1,32}$")
MEDIA_KINDS = {"image": "photo", "video": "video", "audio": "voice", "file": "document"}


def _text(value: Any, limit: int) -> Optional[str]:
    return value if isinstance(value, str) and 0 < len(value) <= limit else None


def _attachments(value: Any, settings: MetaSettings) -> List[Dict[str, str]]:
    found: List[Dict[str, str]] = []
    if not isinstance(value, list):
        return found
    for item in value[:MAX_ATTACHMENTS]:
        if not isinstance(item, dict):
            continue
        kind = item.get("type")
        payload = item.get("payload")
        url = _text(payload.get("url"), MAX_URL_CHARS) if isinstance(payload, dict) else None
        if isinstance(kind, str) and kind in MEDIA_KINDS and url and meta_media_ok(url, settings):
            found.append({"type": kind, "url": url})
        else:
            found.append({"type": "other"})
    return found


def parse_event(
    platform: str, event: Any, now_ms: int, settings: MetaSettings
) -> Optional[Dict[str, Any]]:
    """One ``messaging`` event as the small dict the channel keeps; None to ignore it."""
    if not isinstance(event, dict):
        return None
    sender = event.get("sender")
    scoped = sender.get("id") if isinstance(sender, dict) else None
    if not isinstance(scoped, str) or not _SCOPED_ID.match(scoped):
        return None
    stamp = event.get("timestamp")
    if not isinstance(stamp, int) or isinstance(stamp, bool) or stamp < now_ms - MAX_EVENT_AGE_MS:
        return None
    base: Dict[str, Any] = {"platform": platform, "sender": scoped}
    message = event.get("message")
    if isinstance(message, dict):
        if message.get("is_echo") is True:  # our own message, reported back
            return None
        mid = _text(message.get("mid"), MAX_MID_CHARS)
        if mid is None:
            return None
        quick = message.get("quick_reply")
        payload = (
            _text(quick.get("payload"), MAX_PAYLOAD_CHARS) if isinstance(quick, dict) else None
        )
        text = message.get("text")
        return {**base, "kind": "message", "mid": mid,
                "text": text if isinstance(text, str) else None,
                "payload": payload,
                "attachments": _attachments(message.get("attachments"), settings)}
    postback = event.get("postback")
    if isinstance(postback, dict):
        payload = _text(postback.get("payload"), MAX_PAYLOAD_CHARS)
        mid = _text(postback.get("mid"), MAX_MID_CHARS) or f"postback:{scoped}:{stamp}"
        if payload is None:
            return None
        return {**base, "kind": "message", "mid": mid, "text": None, "payload": payload,
                "attachments": []}
    optin = event.get("optin")
    if isinstance(optin, dict):  # Messenger's own opt-out of the page's messages
        status = optin.get("notification_messages_status")
        if status in ("STOP NOTIFICATIONS", "RESUME NOTIFICATIONS"):
            return {**base, "kind": "optout" if status.startswith("STOP") else "optin",
                    "mid": f"optin:{scoped}:{stamp}"}
    return None


class MetaInput(WebhookChannel):
    """Customers on Facebook Messenger and Instagram Direct (one Meta app, one page)."""

    channel = CHANNEL

    def __init__(self, settings: Settings, retry: Optional[RetryPolicy] = None) -> None:
        self.meta = configured(settings.meta, CHANNEL)
        super().__init__(settings)
        self._app_secret = self.meta.app_secret.encode("utf-8")
        self._verify_token = self.meta.verify_token.encode("utf-8")
        self.sender = MetaSender(self.meta, self.store, retry or RetryPolicy())

    def get_output_channel(self) -> MetaOutput:
        """For Rasa's HTTP API (agent replies): raises if the message is refused or fails."""
        return MetaOutput(self.sender, raise_on_failure=True)

    # -- the lifecycle's hooks ---------------------------------------------------------------

    def verify(self, request: Request, body: bytes) -> bool:
        given = request.headers.get(SIGNATURE_HEADER) or ""
        expected = "sha256=" + hmac.new(self._app_secret, body, hashlib.sha256).hexdigest()
        return hmac.compare_digest(given.encode("utf-8", "surrogateescape"), expected.encode())

    def parse(self, request: Request, body: bytes) -> Optional[List[Dict[str, Any]]]:
        data = json.loads(body)
        if not isinstance(data, dict):
            return None
        kind = data.get("object")
        platform = PLATFORMS.get(kind) if isinstance(kind, str) else None
        entries = data.get("entry")
        if platform is None or not isinstance(entries, list):
            return []  # another object (a page feed change, ...): acknowledged, ignored
        now_ms = int(time.time() * 1000)
        found: List[Dict[str, Any]] = []
        for entry in entries[:MAX_ENTRIES]:
            events = entry.get("messaging") if isinstance(entry, dict) else None
            for event in events[:MAX_EVENTS] if isinstance(events, list) else []:
                parsed = parse_event(platform, event, now_ms, self.meta)
                if parsed is not None:
                    found.append(parsed)
        return found

    def identify(self, raw: Dict[str, Any]) -> Optional[Inbound]:
        mid, platform, scoped = raw.get("mid"), raw.get("platform"), raw.get("sender")
        if not (isinstance(mid, str) and isinstance(platform, str) and isinstance(scoped, str)):
            return None
        # Instagram's ids can be longer than the dedupe column: long ones by their hash.
        key = mid if len(mid) <= 100 else "h:" + hashlib.sha256(mid.encode()).hexdigest()
        text = raw.get("text")
        return Inbound(key, sender_id(platform, scoped), message_id=mid,
                       text=text.strip() or None if isinstance(text, str) else None)

    def add_routes(self, hook: Blueprint, on_new_message: OnNewMessage) -> None:
        @hook.route("/webhook", methods=["GET"])
        async def handshake(request: Request) -> HTTPResponse:
            """Meta's subscription check: echo ``hub.challenge`` for our verify token."""
            mode = request.args.get("hub.mode")
            token = request.args.get("hub.verify_token") or ""
            challenge = request.args.get("hub.challenge") or ""
            token_ok = hmac.compare_digest(
                token.encode("utf-8", "surrogateescape"), self._verify_token
            )
            if mode != "subscribe" or not token_ok or not (
                0 < len(challenge) <= MAX_CHALLENGE_CHARS
                and challenge.isascii()
                and challenge.isalnum()
            ):
                logger.warning("meta webhook: verification with a wrong token; refused")
                return response.text("forbidden", status=403)
            return response.text(challenge)

    async def on_stop(self) -> None:
        await self.sender.close()

    async def handle(self, raw: Dict[str, Any], agent: Any, on_new_message: OnNewMessage) -> None:
        recipient = sender_id(str(raw["platform"]), str(raw["sender"]))
        if split_sender(recipient) is None:
            return
        store = await self.store.get()
        if raw.get("kind") in ("optout", "optin"):  # the platform's own switch: nothing sent
            await store.run(store.set_opted_out, CHANNEL, recipient, raw["kind"] == "optout")
            return
        mid = str(raw["mid"])
        before = await store.run(store.touch_contact, CHANNEL, recipient)
        # The customer just wrote: the bot's answers need no lookup (opt-out checked below).
        output = MetaOutput(self.sender, window_open=True)
        metadata: Dict[str, Any] = {"meta": {"platform": raw["platform"], "mid": mid}}
        text = str(raw.get("text") or "").strip()
        if await opt_out_turn(
            channel=CHANNEL, store=store, agent=agent, output=output, sender_id=recipient,
            text=text, message_id=mid, metadata=metadata, before=before,
            confirm_opt_out=lambda: self.sender.send(
                recipient, [Outgoing("text", META_OPTED_OUT)], confirming_opt_out=True
            ),
        ):
            return
        if await self.refuse_too_long(output, recipient, text, mid):
            return
        payload = raw.get("payload")
        if isinstance(payload, str) and payload:
            metadata["meta"]["button"] = True
            text = payload  # a quick reply or postback: still only an offered one stays /intent
        media = [
            MediaItem(MEDIA_KINDS.get(item.get("type", ""), "other"), item.get("url"))
            for item in raw.get("attachments") or []
            if isinstance(item, dict)
        ]
        await self.to_rasa(
            agent, on_new_message, output, recipient,
            await customer_text(agent, recipient, text) if text else None,
            media, metadata, mid,
        )


__all__ = ["MetaInput", "MetaOutput", "parse_event"]
