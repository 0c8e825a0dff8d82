"""Why a message to a customer was not delivered: a typed code, stored with each delivery.

Channels record a :class:`DeliveryReason` (``channel_deliveries.reason``) and the provider's own
words (``channel_deliveries.provider_detail``, for operators); the inbox shows
:attr:`DeliveryReason.label`, the German sentence for agents. Nothing parses error strings.
"""

from __future__ import annotations

from typing import Dict, Optional

from bot.models import StrEnum


class DeliveryReason(StrEnum):
    """A delivery that failed (or waits). The values are stored; never rename one."""

    BLOCKED = "blocked"
    OPTED_OUT = "opted_out"
    WHATSAPP_WINDOW = "whatsapp_24h_window"
    HELD_FOR_WINDOW = "held_for_window"
    MESSAGING_WINDOW = "messaging_window"
    RATE_LIMITED = "rate_limited"
    PROVIDER_UNAVAILABLE = "provider_unavailable"
    INVALID_RECIPIENT = "invalid_recipient"
    REJECTED = "rejected"
    UNDELIVERED = "undelivered"
    PREVIOUS_PART_FAILED = "previous_part_failed"

    @property
    def label(self) -> str:
        """The German explanation agents read in the inbox."""
        return _LABELS[self]

    @classmethod
    def parse(cls, value: Optional[str]) -> Optional["DeliveryReason"]:
        """The reason stored as ``value`` (None for none or an unknown one)."""
        if not value:
            return None
        try:
            return cls(value)
        except ValueError:
            return None


_LABELS: Dict[DeliveryReason, str] = {
    DeliveryReason.BLOCKED: (
        "Die Person hat den Bot blockiert; die Nachricht wurde nicht zugestellt."
    ),
    DeliveryReason.OPTED_OUT: (
        "Die Person hat sich mit STOP abgemeldet; die Nachricht wurde nicht gesendet."
    ),
    DeliveryReason.WHATSAPP_WINDOW: (
        "Außerhalb des 24-Stunden-Fensters von WhatsApp und keine freigegebene Vorlage "
        "konfiguriert: Die Nachricht wurde nicht gesendet. Sie kann erst zugestellt werden, "
        "wenn die Person wieder schreibt."
    ),
    DeliveryReason.HELD_FOR_WINDOW: (
        "Außerhalb des 24-Stunden-Fensters: Die Person wurde per freigegebener Vorlage "
        "angeschrieben; die Nachricht wird zugestellt, sobald sie antwortet."
    ),
    DeliveryReason.MESSAGING_WINDOW: (
        "Die letzte Nachricht der Person ist zu lange her (Messenger/Instagram erlauben "
        "Antworten des Teams nur bis 7 Tage danach): Die Nachricht wurde nicht gesendet. Sie "
        "kann erst zugestellt werden, wenn die Person wieder schreibt."
    ),
    DeliveryReason.RATE_LIMITED: "Der Anbieter hat zu viele Nachrichten abgelehnt (Rate-Limit).",
    DeliveryReason.PROVIDER_UNAVAILABLE: (
        "Der Anbieter war auch nach mehreren Versuchen nicht erreichbar."
    ),
    DeliveryReason.INVALID_RECIPIENT: (
        "Die Empfängeradresse ist ungültig oder beim Anbieter nicht bekannt."
    ),
    DeliveryReason.REJECTED: "Der Anbieter hat die Nachricht abgelehnt.",
    DeliveryReason.UNDELIVERED: "Der Anbieter konnte die Nachricht nicht zustellen.",
    DeliveryReason.PREVIOUS_PART_FAILED: (
        "Nicht gesendet, weil der erste Teil dieser langen Nachricht nicht zugestellt wurde."
    ),
}


def undelivered_text(reason: Optional[str]) -> str:
    """``Nicht zugestellt: <German reason>`` for a stored reason code (any string, even old)."""
    parsed = DeliveryReason.parse(reason)
    return f"Nicht zugestellt: {parsed.label}" if parsed else "Nicht zugestellt."


__all__ = ["DeliveryReason", "undelivered_text"]
