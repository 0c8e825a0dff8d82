"""Fetching an attachment a customer sent, from the provider that holds it (for the inbox).

Each channel's fetcher gets a reference the channel itself stored (``channel_media``) and
returns ``(bytes, content type)``. Credentials go only to the provider's own API: Telegram's
configured Bot API base; Twilio media under ``https://api.twilio.com/2010-04-01/Accounts/<our
account>/`` (sent to the configured Twilio API base), its redirect to the media CDN followed
without them.
"""

from __future__ import annotations

from typing import Optional, Tuple
from urllib.parse import urlsplit

import aiohttp
from yarl import URL

from bot.errors import BotError
from bot.settings import MetaSettings, Settings, WhatsAppSettings

MAX_MEDIA_BYTES = 15 * 1024 * 1024
MEDIA_TIMEOUT = aiohttp.ClientTimeout(total=30)
TWILIO_API = "https://api.twilio.com"

Fetched = Tuple[bytes, str]


class MediaError(BotError):
    """The attachment cannot be shown; ``message`` is German for the agent."""

    def __init__(self, message: str, gone: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.gone = gone  # True: it does not exist (any more); False: the provider failed


class MediaTooLargeError(MediaError):
    """The attachment is larger than :data:`MAX_MEDIA_BYTES`."""


async def read_limited(response: aiohttp.ClientResponse) -> bytes:
    data = bytearray()
    async for chunk in response.content.iter_chunked(64 * 1024):
        data.extend(chunk)
        if len(data) > MAX_MEDIA_BYTES:
            raise MediaTooLargeError("Die Datei ist zu groß.")
    return bytes(data)


async def fetch_telegram(session: aiohttp.ClientSession, settings: Settings,
                         file_id: str) -> Fetched:
    if settings.telegram is None:
        raise MediaError("Telegram ist nicht eingerichtet.", gone=True)
    base = settings.telegram.api_base_url.rstrip("/")
    token = settings.telegram.token
    async with session.get(f"{base}/bot{token}/getFile", params={"file_id": file_id},
                           timeout=MEDIA_TIMEOUT) as response:
        info = await response.json(content_type=None)
    path = (info or {}).get("result", {}).get("file_path") if isinstance(info, dict) else None
    if not path:
        raise MediaError("Datei nicht mehr verfügbar.", gone=True)
    async with session.get(f"{base}/file/bot{token}/{path}", timeout=MEDIA_TIMEOUT) as response:
        if response.status != 200:
            raise MediaError("Telegram liefert die Datei nicht.")
        return await read_limited(response), response.content_type


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


async def fetch_twilio(session: aiohttp.ClientSession, settings: Settings,
                       reference: str) -> Fetched:
    if settings.whatsapp is None:
        raise MediaError("WhatsApp ist nicht eingerichtet.", gone=True)
    url = twilio_media_url(reference, settings.whatsapp)
    if url is None:
        raise MediaError("Keine Twilio-Medienadresse.", gone=True)
    auth = aiohttp.BasicAuth(settings.whatsapp.account_sid, settings.whatsapp.auth_token)
    failed = "WhatsApp/Twilio liefert die Datei nicht."
    async with session.get(url, auth=auth, timeout=MEDIA_TIMEOUT,
                           allow_redirects=False) as response:
        location = response.headers.get("Location") if response.status in (301, 302, 303, 307,
                                                                           308) else None
        if location is None:
            if response.status != 200:
                raise MediaError(failed)
            return await read_limited(response), response.content_type
    # Twilio redirects to a short-lived signed CDN address: fetched without our credentials.
    target = str(response.url.join(URL(location)))
    if not target.startswith("https://") and urlsplit(target).netloc != urlsplit(url).netloc:
        raise MediaError(failed)
    async with session.get(target, timeout=MEDIA_TIMEOUT, allow_redirects=False) as response:
        if response.status != 200:
            raise MediaError(failed)
        return await read_limited(response), response.content_type


# Where Meta keeps what customers send (signed CDN addresses; no credentials needed).
META_MEDIA_HOSTS = (".fbcdn.net", ".fbsbx.com", ".cdninstagram.com")


def meta_media_ok(reference: str, settings: MetaSettings) -> bool:
    """True for an https address on Meta's CDN (no user info, no port), or under the
    configured Graph API base's origin (a local fake in tests)."""
    try:
        parts = urlsplit(reference)
        port = parts.port
        api = urlsplit(settings.api_base_url)
    except ValueError:
        return False
    if parts.username is not None or parts.password is not None or ".." in parts.path:
        return False
    if (parts.scheme, parts.netloc) == (api.scheme, api.netloc):
        return True
    host = (parts.hostname or "").lower()
    return parts.scheme == "https" and port is None and host.endswith(META_MEDIA_HOSTS)


async def fetch_meta(session: aiohttp.ClientSession, settings: Settings,
                     reference: str) -> Fetched:
    if settings.meta is None:
        raise MediaError("Messenger/Instagram ist nicht eingerichtet.", gone=True)
    if not meta_media_ok(reference, settings.meta):
        raise MediaError("Keine Meta-Medienadresse.", gone=True)
    # A signed CDN address: fetched without our token, redirects not followed.
    async with session.get(reference, timeout=MEDIA_TIMEOUT, allow_redirects=False) as response:
        if response.status != 200:
            raise MediaError("Messenger/Instagram liefert die Datei nicht (abgelaufen?).")
        return await read_limited(response), response.content_type


__all__ = [
    "MAX_MEDIA_BYTES",
    "Fetched",
    "MediaError",
    "MediaTooLargeError",
    "fetch_meta",
    "fetch_telegram",
    "fetch_twilio",
    "meta_media_ok",
    "read_limited",
    "twilio_media_url",
]
