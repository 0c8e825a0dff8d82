"""A minimal web chat for trying the bot locally: the page and a same-origin proxy to Rasa.

The browser never chooses its sender id: ``GET /chat`` gives it a signed, HttpOnly cookie
(``web-<random>`` + HMAC of the inbox secret, checked in constant time), and both the message
proxy and the live stream take the sender from that cookie only – knowing someone's sender id
is not enough to read or write their conversation. Bodies and texts are capped before they
reach Rasa; live streams are capped per sender and overall and end when idle.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional

from aiohttp import web

from bot.inbox._context import INBOX_KEY
from bot.inbox._rasa import RasaClient, RasaRequestError, RasaUnavailableError
from bot.inbox._transcript import INBOX_META
from channels._guard import MAX_REST_BODY_BYTES, too_long_text

PAGE = Path(__file__).with_name("static") / "chat.html"  # its chat.js/chat.css: under /static/
# The page loads only its own script and style; text is never parsed as HTML.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self' https: data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
# History shown after a reload: at most this many of the latest messages.
MAX_HISTORY = 200
SENDER_PATTERN = re.compile(r"^web-[A-Za-z0-9_-]{8,64}$")
COOKIE = "paula_chat"
INVALID = "Ungültige Anfrage."
RELOAD = "Deine Sitzung ist abgelaufen. Bitte lade die Seite neu."
# Live streams: at most this many per browser session and in total; an idle one ends (the
# browser's EventSource reconnects by itself when the page is still open).
MAX_STREAMS_PER_SENDER = 3
MAX_STREAMS = 200
IDLE_SECONDS = 600.0
PING_SECONDS = 15.0


@dataclass
class ChatStreams:
    """Open web-chat live streams, counted per sender."""

    per_sender: Dict[str, int] = field(default_factory=dict)
    total: int = 0
    idle_seconds: float = IDLE_SECONDS

    def open(self, sender: str) -> bool:
        if self.total >= MAX_STREAMS or self.per_sender.get(sender, 0) >= MAX_STREAMS_PER_SENDER:
            return False
        self.per_sender[sender] = self.per_sender.get(sender, 0) + 1
        self.total += 1
        return True

    def close(self, sender: str) -> None:
        self.total -= 1
        left = self.per_sender.get(sender, 1) - 1
        if left:
            self.per_sender[sender] = left
        else:
            self.per_sender.pop(sender, None)


STREAMS_KEY = web.AppKey("chat_streams", ChatStreams)


def _signature(secret: str, sender: str) -> str:
    digest = hmac.new(secret.encode(), f"webchat:{sender}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def sign_sender(secret: str, sender: str) -> str:
    """The cookie value binding ``sender`` to this browser."""
    return f"{sender}.{_signature(secret, sender)}"


def sender_from_cookie(secret: str, value: Optional[str]) -> Optional[str]:
    """The sender id of a valid cookie value, None for a missing, forged or malformed one."""
    if not value or len(value) > 200:
        return None
    sender, _, signature = value.rpartition(".")
    if not SENDER_PATTERN.match(sender):
        return None
    if not hmac.compare_digest(signature.encode(), _signature(secret, sender).encode()):
        return None
    return sender


def _sender(request: web.Request) -> Optional[str]:
    return sender_from_cookie(request.app[INBOX_KEY].secret, request.cookies.get(COOKIE))


def team_name(metadata: Any) -> Optional[str]:
    """The label of an agent's reply for the customer, e.g. "Anna (Team)" (first name only);
    None for messages that are not an agent's reply."""
    inbox = metadata.get(INBOX_META) if isinstance(metadata, dict) else None
    if not isinstance(inbox, dict) or inbox.get("kind") != "reply":
        return None
    first = str(inbox.get("agent") or "").strip().split(" ")[0][:40]
    return f"{first[:1].upper()}{first[1:]} (Team)" if first else "Team"


def _buttons(data: Any) -> List[Dict[str, str]]:
    raw = data.get("buttons") if isinstance(data, dict) else None
    return [
        {"title": str(b.get("title") or ""), "payload": str(b.get("payload") or "")}
        for b in (raw if isinstance(raw, list) else [])
        if isinstance(b, dict)
    ]


def history_messages(events: Any) -> List[Dict[str, Any]]:
    """What the customer saw of a tracker's events: their own texts and every bot, team and
    inbox message; buttons only on a last message nobody answered yet (e.g. the rating)."""
    messages: List[Dict[str, Any]] = []
    for event in events if isinstance(events, list) else []:
        if not isinstance(event, dict):
            continue
        kind = event.get("event")
        text = event.get("text")
        text = text if isinstance(text, str) else ""
        if kind == "user":
            if text and not text.startswith("/"):  # button payloads are not shown as text
                messages.append({"from": "user", "text": text})
            elif messages:
                messages[-1].pop("buttons", None)
            continue
        if kind != "bot":
            continue
        data = event.get("data")
        image = data.get("image") if isinstance(data, dict) else None
        metadata = event.get("metadata")
        message: Dict[str, Any] = {"from": "bot", "text": text}
        if isinstance(metadata, dict) and INBOX_META in metadata:
            message["from"] = "team"
            name = team_name(metadata)
            if name:
                message["agent"] = name
        if isinstance(image, str) and image.startswith(("https://", "http://")):
            message["image"] = image
        buttons = _buttons(data)
        if not text and not buttons and "image" not in message:
            continue
        for earlier in messages:
            earlier.pop("buttons", None)
        if buttons:
            message["buttons"] = buttons
        messages.append(message)
    return messages[-MAX_HISTORY:]


async def chat_page(request: web.Request) -> web.StreamResponse:
    page = web.FileResponse(PAGE, headers=PAGE_HEADERS)
    if _sender(request) is None:
        inbox = request.app[INBOX_KEY]
        sender = "web-" + secrets.token_urlsafe(18)
        page.set_cookie(
            COOKIE, sign_sender(inbox.secret, sender), path="/chat", httponly=True,
            samesite="Strict", secure=inbox.cookie_secure,
        )
    return page


async def chat_events(request: web.Request) -> web.StreamResponse:
    """Messages the inbox sends to a web-chat customer (agent replies, rating question, waiting
    notice): the REST channel answers only requests, so the page listens here (SSE)."""
    sender = _sender(request)
    if sender is None:
        return web.json_response({"error": RELOAD}, status=403)
    streams = request.app[STREAMS_KEY]
    if not streams.open(sender):
        return web.json_response({"error": "Zu viele offene Verbindungen."}, status=429)
    try:
        return await _stream(request, sender, streams.idle_seconds)
    finally:
        streams.close(sender)


async def _stream(request: web.Request, sender: str, idle_seconds: float) -> web.StreamResponse:
    hub = request.app[INBOX_KEY].hub
    response = web.StreamResponse(
        headers={"Content-Type": "text/event-stream; charset=utf-8", "Cache-Control": "no-store"}
    )
    await response.prepare(request)
    subscription = hub.subscribe(topic=sender)
    loop = asyncio.get_running_loop()
    last_update = loop.time()
    try:
        await response.write(b"retry: 2000\n\n")
        while True:
            idle_left = idle_seconds - (loop.time() - last_update)
            if idle_left <= 0:
                break  # nobody wrote for a long time: free the connection
            try:
                update = await asyncio.wait_for(
                    subscription.queue.get(), min(PING_SECONDS, idle_left)
                )
            except asyncio.TimeoutError:
                await response.write(b": ping\n\n")
                continue
            if update.event == "bye":
                break
            last_update = loop.time()
            await response.write(update.encode())
    except (ConnectionResetError, asyncio.CancelledError):
        pass
    finally:
        subscription.close()
    return response


async def _read_json(request: web.Request, limit: int) -> Any:
    """The JSON body, at most ``limit`` bytes (refused by Content-Length before reading)."""
    if request.content_length is not None and request.content_length > limit:
        raise web.HTTPRequestEntityTooLarge(max_size=limit, actual_size=request.content_length)
    data = bytearray()
    while True:
        chunk = await request.content.read(64 * 1024)
        if not chunk:
            break
        data.extend(chunk)
        if len(data) > limit:
            raise web.HTTPRequestEntityTooLarge(max_size=limit, actual_size=len(data))
    return json.loads(bytes(data))


def add_routes(app: web.Application, rasa_key: "web.AppKey[RasaClient]") -> None:
    app[STREAMS_KEY] = ChatStreams()

    async def send(request: web.Request) -> web.Response:
        max_chars = request.app[INBOX_KEY].settings.inbound_max_chars
        sender = _sender(request)
        if sender is None:
            return web.json_response({"error": RELOAD}, status=403)
        try:
            body: Any = await _read_json(request, MAX_REST_BODY_BYTES)
        except web.HTTPRequestEntityTooLarge:
            return web.json_response({"error": too_long_text(max_chars)}, status=413)
        except (ValueError, RecursionError):
            return web.json_response({"error": INVALID}, status=400)
        message = body.get("message") if isinstance(body, dict) else None
        if not isinstance(message, str) or not message.strip():
            return web.json_response({"error": INVALID}, status=400)
        text = message.strip()
        if len(text) > max_chars:
            return web.json_response({"error": too_long_text(max_chars)}, status=413)
        try:
            answers = await request.app[rasa_key].send_rest_message(sender, text)
        except RasaUnavailableError:
            return web.json_response(
                {"error": "Paula ist gerade nicht erreichbar. Bitte versuch es gleich nochmal."},
                status=503,
            )
        return web.json_response({"messages": answers})

    async def history(request: web.Request) -> web.Response:
        """This browser's conversation (sender from the cookie only); a browser without a
        valid cookie gets an empty one (the page then sets a fresh cookie)."""
        sender = _sender(request)
        if sender is None:
            return web.json_response({"messages": []}, headers={"Cache-Control": "no-store"})
        try:
            tracker = await request.app[rasa_key].tracker(sender)
        except (RasaUnavailableError, RasaRequestError):
            return web.json_response(
                {"messages": [], "error": "Der bisherige Verlauf ist gerade nicht abrufbar."},
                headers={"Cache-Control": "no-store"},
            )
        return web.json_response({"messages": history_messages(tracker.get("events"))},
                                 headers={"Cache-Control": "no-store"})

    app.router.add_get("/chat", chat_page)
    app.router.add_get("/chat/api/history", history)
    app.router.add_get("/chat/api/events", chat_events)
    app.router.add_post("/chat/api/messages", send)
