"""Sending to Messenger and Instagram customers through Meta's Graph API (Send API).

Sender ids are ``fb:<PSID>`` (Messenger) and ``ig:<IGSID>`` (Instagram); both are written to
with the page access token at ``POST {META_API_BASE_URL}/me/messages``. Every message is
recorded in ``channel_deliveries``. Before sending, the customer's state decides:

* opted out ("stop")                              -> not sent, ``failed`` / ``opted_out``
* within 24 hours of the customer's last message  -> sent (``messaging_type`` RESPONSE)
* later, up to 7 days, an agent reply             -> sent with the ``HUMAN_AGENT`` tag
* otherwise                                       -> not sent, ``failed`` / ``messaging_window``

Buttons become quick replies (at most 13, titles at most 20 characters). Sending is retried on
429/5xx/timeouts; a person who blocked the page is marked unreachable.
"""

from __future__ import annotations

import asyncio
import logging
import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Dict, List, Optional, Tuple

import aiohttp

from bot.models import utcnow
from bot.privacy import pseudo
from bot.settings import MetaSettings
from channels._inbound import LazyStore
from channels._output import MessengerOutput
from channels._retry import DeliveryFailed, RetryPolicy, Verdict, call_with_retries
from channels._split import split_text
from channels.delivery import DeliveryReason

logger = logging.getLogger(__name__)

CHANNEL = "meta"
MESSENGER = "fb"
INSTAGRAM = "ig"
STANDARD_WINDOW = timedelta(hours=24)
HUMAN_AGENT_WINDOW = timedelta(days=7)
TEXT_LIMITS = {MESSENGER: 2000, INSTAGRAM: 1000}
MAX_QUICK_REPLIES = 13
QUICK_REPLY_TITLE = 20
QUICK_REPLY_PAYLOAD = 1000
_SCOPED_ID = re.compile(r"^[0-9]{1,32}$")

_R = DeliveryReason
# Graph API error codes (error.code, error.error_subcode) -> our reasons.
RATE_LIMIT_CODES = (4, 17, 32, 613)
BLOCKED_CODES = (551, 200)
WINDOW_SUBCODES = (2018278, 2534022)
UNKNOWN_RECIPIENT_SUBCODES = (2018001, 2018109)


def sender_id(platform: str, scoped_id: str) -> str:
    return f"{platform}:{scoped_id}"


def split_sender(recipient_id: str) -> Optional[Tuple[str, str]]:
    """(platform, page-scoped id) of ``fb:…``/``ig:…``; None for anything else."""
    platform, _, scoped = recipient_id.partition(":")
    if platform not in (MESSENGER, INSTAGRAM) or not _SCOPED_ID.match(scoped):
        return None
    return platform, scoped


class GraphError(Exception):
    """The Graph API refused a call."""

    def __init__(self, status: int, code: Optional[int], subcode: Optional[int], text: str):
        super().__init__(f"Graph API {status} (code {code}, subcode {subcode}): {text[:200]}")
        self.status = status
        self.code = code
        self.subcode = subcode


def classify(error: BaseException) -> Verdict:
    """Which Graph API errors are worth another try."""
    if isinstance(error, GraphError):
        code = str(error.code) if error.code is not None else None
        if error.status == 429 or error.code in RATE_LIMIT_CODES:
            return Verdict(True, _R.RATE_LIMITED, error_code=code)
        if error.status >= 500:
            return Verdict(True, _R.PROVIDER_UNAVAILABLE, error_code=code)
        if error.subcode in WINDOW_SUBCODES or error.code == 10:
            return Verdict(False, _R.MESSAGING_WINDOW, error_code=code)
        if error.code == 551 or (error.code == 200 and error.subcode == 1545041):
            return Verdict(False, _R.BLOCKED, error_code=code)
        if error.subcode in UNKNOWN_RECIPIENT_SUBCODES:
            return Verdict(False, _R.INVALID_RECIPIENT, error_code=code)
        return Verdict(False, _R.REJECTED, error_code=code)
    if isinstance(error, (aiohttp.ClientError, asyncio.TimeoutError, ConnectionError)):
        return Verdict(True, _R.PROVIDER_UNAVAILABLE)
    return Verdict(False, _R.REJECTED)


def quick_replies(buttons: List[Dict[str, Any]]) -> List[Dict[str, str]]:
    """Rasa buttons as Messenger/Instagram quick replies (at most 13, short titles)."""
    replies = []
    for button in buttons[:MAX_QUICK_REPLIES]:
        title = str(button.get("title") or button.get("payload") or "").strip()
        payload = str(button.get("payload") or title).strip()
        if not title or not payload or len(payload) > QUICK_REPLY_PAYLOAD:
            continue
        if len(title) > QUICK_REPLY_TITLE:
            title = title[: QUICK_REPLY_TITLE - 1].rstrip() + "…"
        replies.append({"content_type": "text", "title": title, "payload": payload})
    return replies


@dataclass(frozen=True)
class Outgoing:
    """One Send API message (without recipient and messaging type)."""

    kind: str  # text, buttons, image, document
    text: Optional[str] = None
    media_url: Optional[str] = None
    quick_replies: Optional[List[Dict[str, str]]] = None

    def message(self) -> Dict[str, Any]:
        if self.media_url:
            kind = "image" if self.kind == "image" else "file"
            return {"attachment": {"type": kind,
                                   "payload": {"url": self.media_url, "is_reusable": False}}}
        body: Dict[str, Any] = {"text": self.text or ""}
        if self.quick_replies:
            body["quick_replies"] = self.quick_replies
        return body


class MetaSender:
    """Shared by all Meta output channels of one Rasa process (one HTTP session)."""

    def __init__(
        self, settings: MetaSettings, store: LazyStore, retry: RetryPolicy, timeout: float = 10.0
    ) -> None:
        self.settings = settings
        self.store = store
        self.retry = retry
        self.timeout = timeout
        self._http: Optional[aiohttp.ClientSession] = None

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()
            self._http = None

    async def _post(self, body: Dict[str, Any]) -> str:
        if self._http is None:
            self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout))
        url = self.settings.api_base_url.rstrip("/") + "/me/messages"
        # The token goes into a header, never into the URL (logs, proxies).
        headers = {"Authorization": f"Bearer {self.settings.page_access_token}"}
        async with self._http.post(url, json=body, headers=headers) as response:
            try:
                data: Any = await response.json(content_type=None)
            except ValueError:
                data = None
            if response.status != 200:
                error = data.get("error") if isinstance(data, dict) else None
                error = error if isinstance(error, dict) else {}
                code, subcode = error.get("code"), error.get("error_subcode")
                raise GraphError(
                    response.status,
                    code if isinstance(code, int) else None,
                    subcode if isinstance(subcode, int) else None,
                    str(error.get("message") or ""),
                )
            mid = data.get("message_id") if isinstance(data, dict) else None
            return str(mid or "")

    async def send(
        self,
        recipient_id: str,
        messages: List[Outgoing],
        agent: bool = False,
        confirming_opt_out: bool = False,
        window_open: bool = False,
    ) -> Optional[DeliveryReason]:
        """Send (or refuse with a recorded reason) ``messages`` in order. Never raises;
        returns the failure reason, None if all were sent.

        ``agent``: a reply of the team (may use the HUMAN_AGENT tag up to 7 days).
        ``window_open``: the customer just wrote (the bot answering them): no lookup.
        """
        store = await self.store.get()
        target = split_sender(recipient_id)
        if target is None:
            return await self._refuse(recipient_id, messages, _R.INVALID_RECIPIENT)
        tag: Optional[str] = None
        if not window_open:
            contact = await store.run(store.contact, CHANNEL, recipient_id)
            if contact.opted_out and not confirming_opt_out:
                return await self._refuse(recipient_id, messages, _R.OPTED_OUT)
            if contact.unreachable:
                return await self._refuse(recipient_id, messages, _R.BLOCKED)
            since = utcnow() - contact.last_inbound_at if contact.last_inbound_at else None
            if since is None or since > HUMAN_AGENT_WINDOW or (
                since > STANDARD_WINDOW and not agent
            ):
                return await self._refuse(recipient_id, messages, _R.MESSAGING_WINDOW)
            if since > STANDARD_WINDOW:
                tag = "HUMAN_AGENT"
        for index, outgoing in enumerate(messages):
            failed = await self._deliver(recipient_id, target[1], outgoing, tag)
            if failed:
                rest = messages[index + 1:]
                if rest:  # not sent without what came before; recorded, nothing silently lost
                    await self._refuse(recipient_id, rest, _R.PREVIOUS_PART_FAILED)
                return failed
        return None

    async def _deliver(
        self, recipient_id: str, scoped_id: str, outgoing: Outgoing, tag: Optional[str]
    ) -> Optional[DeliveryReason]:
        body: Dict[str, Any] = {
            "recipient": {"id": scoped_id},
            "messaging_type": "MESSAGE_TAG" if tag else "RESPONSE",
            "message": outgoing.message(),
        }
        if tag:
            body["tag"] = tag
        store = await self.store.get()
        try:
            mid, attempts = await call_with_retries(
                lambda: self._post(body), classify, self.retry,
                f"meta {outgoing.kind} to {pseudo(recipient_id)}",
            )
        except DeliveryFailed as failure:
            logger.warning(
                "meta %s to %s failed after %d attempt(s): %s (%s)",
                outgoing.kind, pseudo(recipient_id), failure.attempts, failure.reason, failure,
            )
            await store.run(
                store.record_delivery, CHANNEL, recipient_id, status="failed",
                kind=outgoing.kind, text=outgoing.text, media_url=outgoing.media_url,
                reason=failure.reason, provider_detail=str(failure),
                error_code=failure.error_code, attempts=failure.attempts,
            )
            if failure.reason is _R.BLOCKED:
                await store.run(store.mark_unreachable, CHANNEL, recipient_id, "blocked")
            if failure.reason is _R.MESSAGING_WINDOW:  # Meta's clock and ours disagree
                await store.run(store.set_last_inbound, CHANNEL, recipient_id, None)
            return failure.reason
        await store.run(
            store.record_delivery, CHANNEL, recipient_id, status="sent", kind=outgoing.kind,
            text=outgoing.text, media_url=outgoing.media_url,
            provider_message_id=mid[:64] or None, attempts=attempts,
        )
        return None

    async def _refuse(
        self, recipient_id: str, messages: List[Outgoing], reason: DeliveryReason
    ) -> DeliveryReason:
        logger.info("meta: not sending to %s (%s)", pseudo(recipient_id), reason.value)
        store = await self.store.get()
        for outgoing in messages:
            await store.run(
                store.record_delivery, CHANNEL, recipient_id, status="failed",
                kind=outgoing.kind, text=outgoing.text, media_url=outgoing.media_url,
                reason=reason,
            )
        return reason


class MetaOutput(MessengerOutput):
    """Rasa's responses to a Messenger or Instagram customer (``fb:…`` / ``ig:…``)."""

    channel = CHANNEL

    def __init__(
        self, sender: MetaSender, raise_on_failure: bool = False, window_open: bool = False
    ) -> None:
        super().__init__(raise_on_failure)
        self.sender = sender
        self.window_open = window_open

    async def _send(self, recipient_id: str, messages: List[Outgoing]) -> None:
        reason = await self.sender.send(
            recipient_id, messages, agent=self.raise_on_failure, window_open=self.window_open
        )
        if reason:
            self._failed(reason)

    def _texts(self, recipient_id: str, text: str) -> List[str]:
        target = split_sender(recipient_id)
        limit = TEXT_LIMITS[target[0]] if target else TEXT_LIMITS[INSTAGRAM]
        return split_text(text, limit) or [""]

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        await self._send(recipient_id, [Outgoing("text", part)
                                        for part in self._texts(recipient_id, text)])

    async def send_text_with_buttons(
        self, recipient_id: str, text: str, buttons: List[Dict[str, Any]], **kwargs: Any
    ) -> None:
        """Buttons become quick replies on the last part of the text."""
        parts = self._texts(recipient_id, text)
        replies = quick_replies(buttons)
        messages = [Outgoing("text", part) for part in parts[:-1]]
        messages.append(Outgoing("buttons" if replies else "text", parts[-1],
                                 quick_replies=replies or None))
        await self._send(recipient_id, messages)

    async def send_image_url(self, recipient_id: str, image: str, **kwargs: Any) -> None:
        if image.startswith(("http://", "https://")):
            await self._send(recipient_id, [Outgoing("image", media_url=image)])

    async def send_document(self, recipient_id: str, url: str) -> None:
        await self._send(recipient_id, [Outgoing("document", media_url=url)])


__all__ = [
    "CHANNEL",
    "HUMAN_AGENT_WINDOW",
    "INSTAGRAM",
    "MESSENGER",
    "STANDARD_WINDOW",
    "MetaOutput",
    "MetaSender",
    "Outgoing",
    "classify",
    "quick_replies",
    "sender_id",
    "split_sender",
]
