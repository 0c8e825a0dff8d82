"""Attachments customers sent (photo of the damaged parcel …), fetched from the messenger's API
for a logged-in agent. Only references the channel recorded on this customer's messages are
fetched (no open proxy); provider credentials never reach the browser."""

from __future__ import annotations

import logging
from typing import Optional, Set

import aiohttp
from aiohttp import web
from sqlalchemy import select

from bot.inbox._context import inbox_of
from bot.inbox._rasa import RasaRequestError, RasaUnavailableError
from bot.inbox._stats import channel_group
from bot.inbox._transcript import media_references
from bot.models import Handoff
from bot.privacy import pseudo

logger = logging.getLogger(__name__)

MAX_BYTES = 15 * 1024 * 1024
SHOWN_INLINE = ("image/jpeg", "image/png", "image/gif", "image/webp", "video/mp4",
                "audio/ogg", "audio/mpeg", "application/pdf")
TIMEOUT = aiohttp.ClientTimeout(total=30)


async def _read_limited(response: aiohttp.ClientResponse) -> bytes:
    data = bytearray()
    async for chunk in response.content.iter_chunked(64 * 1024):
        data.extend(chunk)
        if len(data) > MAX_BYTES:
            raise web.HTTPRequestEntityTooLarge(max_size=MAX_BYTES, actual_size=len(data))
    return bytes(data)


async def _telegram(session: aiohttp.ClientSession, base: str, token: str,
                    file_id: str) -> tuple[bytes, str]:
    async with session.get(f"{base}/bot{token}/getFile", params={"file_id": file_id},
                           timeout=TIMEOUT) as response:
        info = await response.json(content_type=None)
    path = (info or {}).get("result", {}).get("file_path") if isinstance(info, dict) else None
    if not path:
        raise web.HTTPNotFound(text="Datei nicht mehr verfügbar.")
    async with session.get(f"{base}/file/bot{token}/{path}", timeout=TIMEOUT) as response:
        if response.status != 200:
            raise web.HTTPBadGateway(text="Telegram liefert die Datei nicht.")
        return await _read_limited(response), response.content_type


async def _twilio(session: aiohttp.ClientSession, url: str, sid: str,
                  token: str) -> tuple[bytes, str]:
    if not url.startswith(("https://", "http://")):
        raise web.HTTPNotFound()
    async with session.get(url, auth=aiohttp.BasicAuth(sid, token), timeout=TIMEOUT) as response:
        if response.status != 200:
            raise web.HTTPBadGateway(text="WhatsApp/Twilio liefert die Datei nicht.")
        return await _read_limited(response), response.content_type


async def media(request: web.Request) -> web.StreamResponse:
    inbox = inbox_of(request)
    sender = request.query.get("sender", "")
    reference = request.query.get("ref", "")
    if not sender or not reference:
        raise web.HTTPNotFound()
    handoff: Optional[Handoff] = await inbox.db().run(
        lambda session: session.execute(
            select(Handoff).where(Handoff.sender_id == sender).order_by(Handoff.id.desc())
        ).scalars().first()
    )
    if handoff is None:
        raise web.HTTPNotFound()
    try:
        tracker = await inbox.rasa_client().tracker(sender)
    except (RasaRequestError, RasaUnavailableError):
        raise web.HTTPServiceUnavailable(text="Rasa ist nicht erreichbar.") from None
    known: Set[str] = set()
    for event in tracker.get("events") or []:
        if event.get("event") == "user":
            known.update(media_references(event.get("metadata")))
    if reference not in known:
        raise web.HTTPNotFound()
    settings = inbox.settings
    session = inbox.http
    if session is None:
        raise web.HTTPServiceUnavailable()
    group = channel_group(handoff.channel)
    try:
        if group == "telegram" and settings.telegram is not None:
            body, content_type = await _telegram(
                session, settings.telegram.api_base_url.rstrip("/"), settings.telegram.token,
                reference,
            )
        elif group == "whatsapp" and settings.whatsapp is not None:
            body, content_type = await _twilio(
                session, reference, settings.whatsapp.account_sid, settings.whatsapp.auth_token
            )
        else:
            raise web.HTTPNotFound()
    except (aiohttp.ClientError, TimeoutError) as error:
        logger.warning("could not fetch media of %s: %s", pseudo(sender), error)
        raise web.HTTPBadGateway(text="Die Datei ist gerade nicht abrufbar.") from None
    inline = content_type in SHOWN_INLINE
    return web.Response(
        body=body,
        content_type=content_type if inline else "application/octet-stream",
        headers={
            "Content-Disposition": "inline" if inline else "attachment",
            "Content-Security-Policy": "sandbox; default-src 'none'",
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, max-age=3600",
        },
    )
