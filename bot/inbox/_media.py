"""Attachments customers sent (photo of the damaged parcel …), fetched for a logged-in agent.

Only references a messenger channel itself stored (``channel_media`` rows, written from signed
webhooks) are fetched – never anything from event metadata, which the REST channel's callers
could once choose – and only by that channel's own fetcher (:mod:`channels.registry`), which
knows the provider's API. Provider credentials never reach the browser.
"""

from __future__ import annotations

import logging
from typing import Optional

import aiohttp
from aiohttp import web
from sqlalchemy import select

from bot.inbox._context import inbox_of
from bot.privacy import pseudo
from channels._media import MAX_MEDIA_BYTES, MediaError, MediaTooLargeError
from channels._store import ChannelMedia
from channels.registry import channel_info

logger = logging.getLogger(__name__)

SHOWN_INLINE = ("image/jpeg", "image/png", "image/gif", "image/webp", "video/mp4",
                "audio/ogg", "audio/mpeg", "application/pdf")


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
    info = channel_info(channel) if channel is not None else None
    if info is None:
        raise web.HTTPNotFound()
    session = inbox.http
    if session is None:
        raise web.HTTPServiceUnavailable()
    try:
        body, content_type = await info.fetch_media(session, inbox.settings, reference)
    except MediaTooLargeError:
        raise web.HTTPRequestEntityTooLarge(
            max_size=MAX_MEDIA_BYTES, actual_size=MAX_MEDIA_BYTES + 1
        ) from None
    except MediaError as error:
        if error.gone:
            logger.info("media of %s not available: %s", pseudo(sender), error)
            raise web.HTTPNotFound(text=error.message) from None
        raise web.HTTPBadGateway(text=error.message) from None
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
