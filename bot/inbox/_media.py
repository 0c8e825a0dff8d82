"""Attachments customers sent (photo of the damaged parcel …), fetched from the messenger's API
for a logged-in agent.

Only references a messenger channel itself stored (``channel_media`` rows, written from signed
Telegram/Twilio webhooks) are fetched – never anything from event metadata, which the REST
channel's callers could once choose – and only from the provider's own API: Telegram's
configured Bot API base, Twilio media under ``https://api.twilio.com/2010-04-01/Accounts/<our
account>/`` (sent to the configured Twilio API base). Provider credentials never reach the
browser, nor any other host (Twilio's redirect to its media CDN is followed without them).
"""

from __future__ import annotations

import logging
from typing import Optional
from urllib.parse import urlsplit

import aiohttp
from aiohttp import web
from sqlalchemy import select
from yarl import URL

from bot.inbox._context import inbox_of
from bot.privacy import pseudo
from bot.settings import WhatsAppSettings
from channels._store import ChannelMedia

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


TWILIO_API = "https://api.twilio.com"


def twilio_media_url(reference: str, settings: WhatsAppSettings) -> Optional[str]:
    """Where to fetch a Twilio media reference with our credentials, None if it is not ours.

    Accepted: ``https://api.twilio.com/2010-04-01/Accounts/<our SID>/...`` (no user info, no
    port); fetched from the configured Twilio API base (a local fake in tests).
    """
    try:
        parts = urlsplit(reference)
        port = parts.port
    except ValueError:
        return None
    prefix = f"/2010-04-01/Accounts/{settings.account_sid}/"
    if (
        parts.scheme != "https"
        or parts.hostname != "api.twilio.com"
        or parts.username is not None
        or port is not None
        or not parts.path.startswith(prefix)
        or ".." in parts.path
    ):
        return None
    base = (settings.api_base_url or TWILIO_API).rstrip("/")
    return base + parts.path + (f"?{parts.query}" if parts.query else "")


async def _twilio(session: aiohttp.ClientSession, url: str, sid: str,
                  token: str) -> tuple[bytes, str]:
    async with session.get(url, auth=aiohttp.BasicAuth(sid, token), timeout=TIMEOUT,
                           allow_redirects=False) as response:
        location = response.headers.get("Location") if response.status in (301, 302, 303, 307,
                                                                           308) else None
        if location is None:
            if response.status != 200:
                raise web.HTTPBadGateway(text="WhatsApp/Twilio liefert die Datei nicht.")
            return await _read_limited(response), response.content_type
    # Twilio redirects to a short-lived signed CDN address: fetched without our credentials.
    target = str(response.url.join(URL(location)))
    if not target.startswith("https://") and urlsplit(target).netloc != urlsplit(url).netloc:
        raise web.HTTPBadGateway(text="WhatsApp/Twilio liefert die Datei nicht.")
    async with session.get(target, timeout=TIMEOUT, allow_redirects=False) as response:
        if response.status != 200:
            raise web.HTTPBadGateway(text="WhatsApp/Twilio liefert die Datei nicht.")
        return await _read_limited(response), response.content_type


async def media(request: web.Request) -> web.StreamResponse:
    inbox = inbox_of(request)
    sender = request.query.get("sender", "")
    reference = request.query.get("ref", "")
    if not sender or not reference:
        raise web.HTTPNotFound()
    # Only what a messenger channel stored for this customer (never tracker metadata).
    channel: Optional[str] = await inbox.db().run(
        lambda session: session.execute(
            select(ChannelMedia.channel).where(
                ChannelMedia.sender_id == sender, ChannelMedia.reference == reference
            ).order_by(ChannelMedia.id.desc())
        ).scalars().first()
    )
    if channel is None:
        raise web.HTTPNotFound()
    settings = inbox.settings
    session = inbox.http
    if session is None:
        raise web.HTTPServiceUnavailable()
    try:
        if channel == "telegram" and settings.telegram is not None:
            body, content_type = await _telegram(
                session, settings.telegram.api_base_url.rstrip("/"), settings.telegram.token,
                reference,
            )
        elif channel == "whatsapp" and settings.whatsapp is not None:
            url = twilio_media_url(reference, settings.whatsapp)
            if url is None:
                logger.warning("stored media reference is not a Twilio media address; refused")
                raise web.HTTPNotFound()
            body, content_type = await _twilio(
                session, url, settings.whatsapp.account_sid, settings.whatsapp.auth_token
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
