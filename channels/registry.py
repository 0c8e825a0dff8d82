"""Which channels exist and what each can do: the one list the launcher, CLI and inbox ask.

Importing this module is cheap (no provider library): a channel's input class and media
fetcher are named by dotted path and loaded on use. Adding a channel means one
:class:`ChannelInfo` here and its module in ``channels/``; the inbox only reads this list.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Awaitable, Callable, Dict, Optional, Tuple

from bot.settings import Settings

if TYPE_CHECKING:
    import aiohttp

# The group of the web chat (the REST channel): always on, no provider.
WEB = "web"


@dataclass(frozen=True)
class Capabilities:
    """What a channel can show and when it may write to a customer."""

    buttons: bool  # real buttons (else the channel offers numbered options)
    media_in: bool  # customers can send photos/files the inbox can fetch
    media_out: bool  # the bot/agents can send images and files
    # How long after the customer's last message the channel may write freely (None: always).
    window: Optional[timedelta] = None
    # How long agent replies may still go out after that (Meta's human-agent tag).
    agent_window: Optional[timedelta] = None


@dataclass(frozen=True)
class ChannelInfo:
    """One channel as the rest of the project sees it."""

    name: str  # the group key: Rasa input channel name, filter and CSS key in the inbox
    label: str  # German, for agents
    capabilities: Capabilities
    # credentials.yml key of the Rasa input channel (None: not a Rasa channel of ours to list)
    input_class: Optional[str] = None
    # Settings check: is the channel configured? (None: always on)
    configured: Optional[Callable[[Settings], bool]] = None
    # The environment variables that switch it on (all of them)
    variables: Tuple[str, ...] = ()
    # Channel names (as stored on handoffs) of this group: exact names, and substrings
    names: Tuple[str, ...] = ()
    name_parts: Tuple[str, ...] = ()
    # "module:function" of ``async (session, settings, reference) -> (bytes, content type)``
    media_fetcher: Optional[str] = None

    def is_on(self, settings: Settings) -> bool:
        return self.configured is None or self.configured(settings)

    def matches(self, channel: str) -> bool:
        lowered = (channel or "").lower()
        return (
            lowered == self.name
            or lowered in self.names
            or any(part in lowered for part in self.name_parts)
        )

    async def fetch_media(
        self, session: "aiohttp.ClientSession", settings: Settings, reference: str
    ) -> Tuple[bytes, str]:
        """The attachment ``reference`` (stored by this channel); raises
        :class:`channels._media.MediaError` if it cannot be fetched."""
        from channels._media import MediaError

        if self.media_fetcher is None or not self.is_on(settings):
            raise MediaError("Für diesen Kanal gibt es keine Dateien.", gone=True)
        module, _, function = self.media_fetcher.partition(":")
        fetch: Callable[..., Awaitable[Tuple[bytes, str]]] = getattr(
            importlib.import_module(module), function
        )
        return await fetch(session, settings, reference)


CHANNELS: Tuple[ChannelInfo, ...] = (
    ChannelInfo(
        name="telegram",
        label="Telegram",
        capabilities=Capabilities(buttons=True, media_in=True, media_out=True),
        input_class="channels.telegram.TelegramInput",
        configured=lambda settings: settings.telegram is not None,
        variables=("TELEGRAM_TOKEN", "TELEGRAM_SECRET_TOKEN"),
        name_parts=("telegram",),
        media_fetcher="channels._media:fetch_telegram",
    ),
    ChannelInfo(
        name="whatsapp",
        label="WhatsApp",
        capabilities=Capabilities(
            buttons=False, media_in=True, media_out=True, window=timedelta(hours=24)
        ),
        input_class="channels.whatsapp.WhatsAppInput",
        configured=lambda settings: settings.whatsapp is not None,
        variables=("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_WHATSAPP_FROM"),
        name_parts=("whatsapp", "twilio"),
        media_fetcher="channels._media:fetch_twilio",
    ),
    ChannelInfo(
        name="meta",
        label="Messenger/Instagram",
        capabilities=Capabilities(
            buttons=True, media_in=True, media_out=True, window=timedelta(hours=24),
            agent_window=timedelta(days=7),
        ),
        input_class="channels.meta.MetaInput",
        configured=lambda settings: settings.meta is not None,
        variables=("META_PAGE_ACCESS_TOKEN", "META_APP_SECRET", "META_VERIFY_TOKEN"),
        names=("meta", "facebook", "messenger", "instagram"),
        media_fetcher="channels._media:fetch_meta",
    ),
    ChannelInfo(
        name=WEB,
        label="Web-Chat",
        capabilities=Capabilities(buttons=True, media_in=False, media_out=True),
        names=("rest", "web", "webchat", "socketio"),
    ),
)


def by_name() -> Dict[str, ChannelInfo]:
    return {info.name: info for info in CHANNELS}


def channel_info(channel: str) -> Optional[ChannelInfo]:
    """The registry entry a stored channel name belongs to (None: unknown)."""
    for info in CHANNELS:
        if info.matches(channel):
            return info
    return None


def channel_group(channel: str) -> str:
    """The group key of a stored channel name ('telegram', 'whatsapp', 'web', ...), else the
    raw name ('unbekannt' for none)."""
    info = channel_info(channel)
    if info is not None:
        return info.name
    return (channel or "").lower() or "unbekannt"


def labels() -> Dict[str, str]:
    """Group key -> German label."""
    return {info.name: info.label for info in CHANNELS}


def messengers() -> Tuple[ChannelInfo, ...]:
    """The provider channels (those with a Rasa input class of their own, not the web chat)."""
    return tuple(info for info in CHANNELS if info.input_class is not None)


__all__ = [
    "CHANNELS",
    "WEB",
    "Capabilities",
    "ChannelInfo",
    "by_name",
    "channel_group",
    "channel_info",
    "labels",
    "messengers",
]
