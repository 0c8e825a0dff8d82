"""The conversation as community managers read it: Rasa's tracker events (the one transcript)
merged with what only the inbox knows (internal notes, status changes, failed deliveries)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Dict, Iterable, List, Optional, Sequence
from urllib.parse import urlencode

from bot.inbox._service import REASON_SEPARATOR, ConversationRecords
from bot.models import HandoffReason
from channels.delivery import DeliveryReason, undelivered_text

# Metadata key on bot events the inbox appends (agent replies, waiting notice, CSAT question).
INBOX_META = "inbox"

MEDIA_LABELS = {
    "photo": "Foto",
    "image": "Bild",
    "video": "Video",
    "video_note": "Videonachricht",
    "animation": "GIF",
    "voice": "Sprachnachricht",
    "audio": "Audio",
    "document": "Dokument",
    "sticker": "Sticker",
    "location": "Standort",
    "venue": "Ort",
    "contact": "Kontakt",
}

REASON_LABELS = {
    HandoffReason.LOW_NLU_CONFIDENCE.value: "Paula hat die Nachricht nicht verstanden",
    HandoffReason.LOW_ANSWER_CONFIDENCE.value: "Paula war sich bei der Antwort unsicher",
    HandoffReason.REPEATED_FALLBACK.value: "Mehrmals nicht verstanden",
    HandoffReason.CUSTOMER_REQUEST.value: "Kunde möchte einen Menschen",
    HandoffReason.COMPLAINT.value: "Beschwerde / verärgert",
    HandoffReason.ORDER_LOOKUP_FAILED.value: "Bestellung nicht gefunden",
    HandoffReason.ORDER_LOCKED.value: "Bestellnummer gesperrt (zu viele Fehlversuche)",
}


@dataclass(frozen=True)
class Media:
    url: str
    is_image: bool
    label: str


@dataclass
class Item:
    """One line of the transcript. ``kind``: customer, bot, agent, note, status, failed."""

    kind: str
    text: str
    at: datetime
    author: str = ""
    key: str = ""
    buttons: List[str] = field(default_factory=list)
    media: List[Media] = field(default_factory=list)
    detail: str = ""
    automatic: bool = False
    undelivered: bool = False  # a bot/agent message the channel finally could not deliver


def from_timestamp(value: Any) -> datetime:
    try:
        return datetime.fromtimestamp(float(value), tz=timezone.utc).replace(tzinfo=None)
    except (TypeError, ValueError, OverflowError, OSError):
        return datetime.now(timezone.utc).replace(tzinfo=None)


def media_references(metadata: Any) -> List[str]:
    """The references (provider file ids / media URLs) a channel recorded on a user event."""
    if not isinstance(metadata, dict):
        return []
    found = []
    for key in ("media", "attachments"):
        value = metadata.get(key)
        entries = value if isinstance(value, list) else [value] if isinstance(value, dict) else []
        for entry in entries:
            if isinstance(entry, dict):
                reference = entry.get("reference") or entry.get("url")
                if reference:
                    found.append(str(reference))
    return found


def media_url(sender: str, reference: str) -> str:
    """The inbox's own address for an attachment (fetched from the provider on request)."""
    return "/inbox/api/media?" + urlencode({"sender": sender, "ref": reference})


def _media(metadata: Any, sender: str = "") -> List[Media]:
    """Attachments a channel put into the user event's metadata.

    Accepted shapes: ``{"media": [{"url": ..., "content_type": ...}]}`` (also ``attachments``),
    or ``{"media_url": ..., "media_type": ...}``.
    """
    if not isinstance(metadata, dict):
        return []
    entries: List[Dict[str, Any]] = []
    for key in ("media", "attachments"):
        value = metadata.get(key)
        if isinstance(value, list):
            entries.extend(entry for entry in value if isinstance(entry, dict))
        elif isinstance(value, dict):
            entries.append(value)
    if metadata.get("media_url"):
        entries.append(
            {"url": metadata.get("media_url"), "content_type": metadata.get("media_type")}
        )
    media = []
    for entry in entries:
        kind = str(entry.get("content_type") or entry.get("mime_type") or "")
        medium = str(entry.get("kind") or entry.get("type") or "")
        reference = str(entry.get("reference") or entry.get("url") or "")
        # Never the provider's address (it may need the bot token or account credentials):
        # the inbox fetches it for a logged-in agent.
        url = media_url(sender, reference) if reference and sender else ""
        is_image = kind.startswith("image") or medium in ("photo", "image")
        label = MEDIA_LABELS.get(medium) or ("Bild" if is_image else kind or "Anhang")
        media.append(Media(url=url, is_image=is_image and bool(url), label=label))
    return media


def _payload_text(text: str, parse_data: Any) -> str:
    """A button press arrives as ``/intent{...}``: show what the customer chose."""
    if text.startswith("/rate"):
        for entity in (parse_data or {}).get("entities") or []:
            if entity.get("entity") == "rating":
                return f"Bewertung: {entity.get('value')} von 5"
        return "Bewertung"
    if text.startswith("/"):
        return f"[Button] {text[1:].split('{', 1)[0]}"
    return text


def item_from_event(event: Dict[str, Any], key: str, sender: str = "") -> Optional[Item]:
    """A transcript item for a Rasa event (tracker or event broker), or None if not shown."""
    kind = event.get("event")
    at = from_timestamp(event.get("timestamp"))
    if kind == "user":
        text = str(event.get("text") or "")
        media = _media(event.get("metadata"), sender or str(event.get("sender_id") or ""))
        if not text and not media:
            return None
        return Item(
            kind="customer",
            text=_payload_text(text, event.get("parse_data")),
            at=at,
            author="Kunde",
            key=key,
            media=media,
        )
    if kind == "bot":
        data = event.get("data") or {}
        metadata = event.get("metadata") or {}
        inbox = metadata.get(INBOX_META) if isinstance(metadata, dict) else None
        text = str(event.get("text") or "")
        buttons = [
            str(b.get("title") or "") for b in (data.get("buttons") or []) if isinstance(b, dict)
        ]
        image = data.get("image")
        media = [Media(url=str(image), is_image=True, label="Bild")] if image else []
        if not text and not buttons and not media:
            return None
        if isinstance(inbox, dict) and inbox.get("kind") == "reply":
            return Item(kind="agent", text=text, at=at, author=str(inbox.get("agent") or "Team"),
                        key=key, buttons=buttons, media=media)
        return Item(kind="bot", text=text, at=at, author="Paula", key=key, buttons=buttons,
                    media=media, automatic=isinstance(inbox, dict))
    if kind == "action" and event.get("name") == "action_handoff":
        return Item(kind="status", text="Paula hat an das Team übergeben", at=at, key=key)
    if kind == "resume":
        return Item(kind="status", text="Paula antwortet wieder", at=at, key=key)
    return None


def event_key(event: Dict[str, Any]) -> str:
    """Stable id of a Rasa event, the same from the tracker and from the broker."""
    return "e" + json.dumps(
        [event.get("event"), event.get("timestamp"), event.get("text"), event.get("name")],
        ensure_ascii=True,
    ).encode().hex()[:48]


def _status_text(kind: str, actor: str, target: str, detail: str) -> str:
    detail, _, why = detail.partition(REASON_SEPARATOR)
    text = _status_base(kind, actor, target, detail)
    return f"{text} – Grund: {why}" if why else text


def _status_base(kind: str, actor: str, target: str, detail: str) -> str:
    if kind == "created":
        return f"Übergabe: {REASON_LABELS.get(detail, detail)}"
    if kind == "claimed":
        return f"{actor} hat das Gespräch übernommen"
    if kind == "transferred":
        if detail == "queue":
            return f"{actor} hat das Gespräch zurück in die Warteschlange gelegt"
        return f"{actor} hat das Gespräch an {target} weitergegeben"
    if kind == "snoozed":
        return f"{actor} hat das Gespräch zurückgestellt ({detail})"
    if kind == "reopened":
        if detail == "customer":
            return "Wieder offen: der Kunde hat geschrieben"
        if detail == "time":
            return "Wieder offen: Zurückstellung abgelaufen"
        return f"{actor} hat das Gespräch wieder geöffnet"
    if kind == "resolved":
        return f"{actor} hat das Gespräch an Paula zurückgegeben"
    if kind == "waiting_notice":
        return "Wartehinweis an den Kunden gesendet" + (f" ({detail})" if detail else "")
    if kind == "rated":
        return f"Bewertung des Kunden: {detail} von 5"
    return kind


def build_transcript(
    tracker_events: Iterable[Dict[str, Any]], records: ConversationRecords
) -> List[Item]:
    items: List[Item] = []
    sender = records.handoff.sender_id
    for event in tracker_events:
        item = item_from_event(event, event_key(event), sender)
        if item is not None and item.kind != "status":
            items.append(item)
    mark_undelivered(items, records.failed_deliveries)
    names = records.names
    for status in records.events:
        items.append(
            Item(
                kind="status",
                text=_status_text(
                    status.kind,
                    names.get(status.agent_id or 0, "Jemand"),
                    names.get(status.target_agent_id or 0, "jemand anderen"),
                    status.detail or "",
                ),
                at=status.at,
                key=f"s{status.id}",
            )
        )
    for note in records.notes:
        items.append(Item(kind="note", text=note.text, at=note.created_at,
                          author=names.get(note.agent_id, "Jemand"), key=f"n{note.id}"))
    for reply in records.replies:
        items.append(
            Item(
                kind="failed" if reply.status == "failed" else "sending",
                text=reply.text,
                at=reply.created_at,
                author=names.get(reply.agent_id, "Jemand"),
                key=f"r{reply.id}",
                detail=delivery_error_text(reply.error or ""),
            )
        )
    items.sort(key=lambda item: item.at)
    return items


# A failed delivery belongs to a message sent at most this long before it was recorded
# (retries with backoff, a late status callback from the provider).
DELIVERY_MATCH_WINDOW = timedelta(hours=1)


def _failure_text(failure: Any) -> str:
    """From the stored reason code; rows from before the codes carry a German ``detail``."""
    if DeliveryReason.parse(failure.reason) is not None:
        return undelivered_text(failure.reason)
    legacy = getattr(failure, "detail", None)
    return f"Nicht zugestellt: {legacy}" if legacy else "Nicht zugestellt."


def mark_undelivered(items: List[Item], failures: Sequence[Any]) -> None:
    """Flag the bot and agent messages of the transcript that never reached the customer.

    ``failures``: the channel's failed delivery records (``text``, ``reason``, ``created_at``).
    A record matches the earliest not yet flagged message that contains its text (long
    messages are sent in parts) and was sent before the record, within the window.
    """
    for failure in failures:
        text = str(failure.text or "").strip()
        if not text:
            continue
        for item in items:
            if (
                item.kind in ("bot", "agent")
                and not item.undelivered
                and text in item.text
                and item.at - timedelta(seconds=5) <= failure.created_at
                and failure.created_at - item.at <= DELIVERY_MATCH_WINDOW
            ):
                item.undelivered = True
                item.detail = _failure_text(failure)
                break


# What the inbox stores as a failed reply's error when no channel recorded a reason.
RASA_DOWN = "Rasa ist nicht erreichbar."
REPLY_REFUSED = "Der Bot-Server hat die Antwort abgelehnt."


def delivery_error_text(error: str) -> str:
    """German explanation of why a reply did not reach the customer. ``error`` is what the
    inbox stored: a :class:`channels.delivery.DeliveryReason` code, or one of its own German
    sentences (:data:`RASA_DOWN`, :data:`REPLY_REFUSED`)."""
    reason = DeliveryReason.parse(error)
    if reason is not None:
        return f"Nicht zugestellt: {reason.label}"
    if not error:
        return "Nicht zugestellt."
    return f"Nicht zugestellt: {error[:300]}"
