"""A minimal web chat for trying the bot locally: the page and a same-origin proxy to Rasa."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

from aiohttp import web

from bot.inbox._context import INBOX_KEY
from bot.inbox._rasa import RasaClient, RasaUnavailableError

PAGE = Path(__file__).with_name("static") / "chat.html"
SENDER_PATTERN = re.compile(r"^web-[A-Za-z0-9_-]{8,64}$")
MAX_MESSAGE_CHARS = 2000


async def chat_page(request: web.Request) -> web.StreamResponse:
    return web.FileResponse(PAGE, headers={"Cache-Control": "no-store"})


async def chat_events(request: web.Request) -> web.StreamResponse:
    """Messages the inbox sends to a web-chat customer (agent replies, rating question, waiting
    notice): the REST channel answers only requests, so the page listens here (SSE)."""
    sender = request.query.get("sender", "")
    if not SENDER_PATTERN.match(sender):
        return web.json_response({"error": "Ungültige Anfrage."}, status=400)
    hub = request.app[INBOX_KEY].hub
    response = web.StreamResponse(
        headers={"Content-Type": "text/event-stream; charset=utf-8", "Cache-Control": "no-store"}
    )
    await response.prepare(request)
    subscription = hub.subscribe(topic=sender)
    try:
        await response.write(b"retry: 2000\n\n")
        while True:
            try:
                update = await asyncio.wait_for(subscription.queue.get(), 15)
            except asyncio.TimeoutError:
                await response.write(b": ping\n\n")
                continue
            if update.event == "bye":
                break
            await response.write(update.encode())
    except (ConnectionResetError, asyncio.CancelledError):
        pass
    finally:
        subscription.close()
    return response


def add_routes(app: web.Application, rasa_key: "web.AppKey[RasaClient]") -> None:
    async def send(request: web.Request) -> web.Response:
        try:
            body: Any = await request.json()
        except ValueError:
            return web.json_response({"error": "Ungültige Anfrage."}, status=400)
        sender = str(body.get("sender", "")) if isinstance(body, dict) else ""
        text = str(body.get("message", "")).strip() if isinstance(body, dict) else ""
        if not SENDER_PATTERN.match(sender) or not text:
            return web.json_response({"error": "Ungültige Anfrage."}, status=400)
        if len(text) > MAX_MESSAGE_CHARS:
            return web.json_response(
                {"error": f"Deine Nachricht ist zu lang (höchstens {MAX_MESSAGE_CHARS} Zeichen)."},
                status=400,
            )
        try:
            answers = await request.app[rasa_key].send_rest_message(sender, text)
        except RasaUnavailableError:
            return web.json_response(
                {"error": "Paula ist gerade nicht erreichbar. Bitte versuch es gleich nochmal."},
                status=503,
            )
        return web.json_response({"messages": answers})

    app.router.add_get("/chat", chat_page)
    app.router.add_get("/chat/api/events", chat_events)
    app.router.add_post("/chat/api/messages", send)
