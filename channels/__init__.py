"""Rasa input/output channels for the messengers customers use (loaded from credentials.yml).

``channels.rest.RestInput``, ``channels.telegram.TelegramInput``,
``channels.whatsapp.WhatsAppInput`` and ``channels.meta.MetaInput`` are the classes
credentials.yml names. The tables the
channels keep in the support database (deliveries and their failures, media references,
opted-out and unreachable customers) are re-exported here for the inbox. Importing this package
stays cheap: the channel classes (which pull in Rasa) load on first access.
"""

from __future__ import annotations

from typing import Any

from channels._store import (
    ChannelContact,
    ChannelDelivery,
    ChannelMedia,
    ChannelStore,
    InboundMessage,
)

_LAZY = {
    "RestInput": "channels.rest",
    "MetaInput": "channels.meta",
    "TelegramInput": "channels.telegram",
    "WhatsAppInput": "channels.whatsapp",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'channels' has no attribute {name!r}")


__all__ = [
    "ChannelContact",
    "ChannelDelivery",
    "ChannelMedia",
    "ChannelStore",
    "InboundMessage",
    "MetaInput",
    "RestInput",
    "TelegramInput",
    "WhatsAppInput",
]
