"""What Paula already knows about the customer of a conversation, read from Rasa's tracker
events: who they are as far as the channel tells (name, phone), when they first wrote, and which
order Paula looked up for them.

A successful lookup resets the ``order_number`` slot (so the next question starts fresh), so the
current slots do not show it; the events do."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Dict, Iterable, List, Optional, Sequence

ORDER_SLOT = "order_number"
ORDER_ACTION = "action_order_status"
_NAME_LIMIT = 80


@dataclass(frozen=True)
class OrderLookup:
    """An order number the customer gave; ``confirmed``: Paula told its status (number and
    postcode matched)."""

    number: str
    confirmed: bool


@dataclass(frozen=True)
class Contact:
    name: str = ""
    phone: str = ""
    channel_user: str = ""  # e.g. the Telegram user id
    first_seen: Optional[datetime] = None


def _text(value: Any) -> str:
    return " ".join(str(value).split())[:_NAME_LIMIT] if isinstance(value, (str, int)) else ""


def order_lookups(events: Iterable[Dict[str, Any]]) -> List[OrderLookup]:
    """Every order number given in the conversation, oldest first; confirmed when
    ``action_order_status`` answered with the status (it then clears the slot)."""
    found: Dict[str, bool] = {}
    candidate: Optional[str] = None
    after_status_action = False
    for event in events:
        kind = event.get("event")
        if kind == "slot" and event.get("name") == ORDER_SLOT:
            value = event.get("value")
            if isinstance(value, str) and value.strip():
                candidate = value.strip()[:32]
                found.setdefault(candidate, False)
            elif after_status_action and candidate:
                found[candidate] = True  # cleared right after telling the status
        elif kind == "action":
            after_status_action = event.get("name") == ORDER_ACTION
        elif kind == "user":
            after_status_action = False
    ordered = list(found.items())
    return [OrderLookup(number, confirmed) for number, confirmed in ordered]


def best_order(lookups: Sequence[OrderLookup], *others: Optional[str]) -> Optional[str]:
    """The order to show: the latest confirmed lookup, else a number the handoff or the current
    slots carry, else the latest number given."""
    confirmed = [lookup.number for lookup in lookups if lookup.confirmed]
    if confirmed:
        return confirmed[-1]
    for number in others:
        if number:
            return str(number)
    return lookups[-1].number if lookups else None


def contact_of(events: Iterable[Dict[str, Any]], channel: str, sender_id: str) -> Contact:
    """Name and phone as the channel delivers them (Telegram: first name; WhatsApp: profile
    name and number), and the time of the customer's first message."""
    name = phone = channel_user = ""
    first: Optional[datetime] = None
    for event in events:
        if event.get("event") != "user":
            continue
        if first is None:
            try:
                first = datetime.fromtimestamp(float(event.get("timestamp") or "x"),
                                               tz=timezone.utc)
            except (TypeError, ValueError, OverflowError, OSError):
                first = None
        metadata = event.get("metadata")
        if not isinstance(metadata, dict):
            continue
        telegram = metadata.get("telegram")
        if isinstance(telegram, dict) and isinstance(telegram.get("user"), dict):
            user = telegram["user"]
            name = _text(user.get("first_name")) or name
            channel_user = _text(user.get("id")) or channel_user
        whatsapp = metadata.get("whatsapp")
        if isinstance(whatsapp, dict):
            name = _text(whatsapp.get("profile_name")) or name
            wa_id = _text(whatsapp.get("wa_id"))
            if wa_id.isdigit():
                phone = f"+{wa_id}"
    if not phone and channel == "whatsapp" and sender_id.startswith("whatsapp:+"):
        number = sender_id.split(":", 1)[1]
        if number[1:].isdigit():
            phone = number
    return Contact(name=name, phone=phone, channel_user=channel_user,
                   first_seen=first.replace(tzinfo=None) if first else None)
