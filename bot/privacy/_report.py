"""The readable German version of an export (Datenauskunft nach Art. 15 DSGVO)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Dict, List, Optional

from bot.privacy._stores import EVENT_BROKER, LOG_FILES, TRACKER_STORE, CustomerData

COMPANY = "Bergpfad Outdoor GmbH"
STORE_NAMES = {
    TRACKER_STORE: "Gesprächsverlauf mit Paula (Rasa-Tracker)",
    EVENT_BROKER: "Kopie des Gesprächsverlaufs für das Kundenservice-Team (Event-Broker)",
    "support.handoffs": "Übergaben an unser Team",
    "support.inbox_handoff_state": "Bearbeitungsstand der Übergaben",
    "support.inbox_handoff_events": "Bearbeitungsschritte des Teams",
    "support.inbox_notes": "Interne Notizen des Teams",
    "support.inbox_replies": "Antworten des Teams",
    "support.inbox_customer_messages": "Deine Nachrichten während der Übergabe",
    "support.trainer_labels": "Anonymisierte Trainingsbeispiele aus deinen Nachrichten",
    "support.channel_contacts": "Kontaktstatus im Messenger",
    "support.channel_inbound": "Empfangsnachweise deiner Nachrichten (Duplikatschutz)",
    "support.channel_media": "Von dir gesendete Dateien, Fotos, Standorte",
    "support.channel_deliveries": "Zustellung unserer Nachrichten an dich",
    "support.channel_choices": "Zuletzt angebotene Auswahlmöglichkeiten",
    "support.answer_ratings": "Deine Bewertungen von Paulas Antworten (👍/👎)",
    LOG_FILES: "Zeilen in Protokolldateien",
}
MEDIA_KINDS = {
    "photo": "Foto",
    "image": "Bild",
    "document": "Dokument",
    "voice": "Sprachnachricht",
    "audio": "Audiodatei",
    "video": "Video",
    "sticker": "Sticker",
    "location": "Standort",
    "contact": "Kontakt",
}
REASONS = {
    "low_nlu_confidence": "Paula hat dich nicht sicher verstanden",
    "low_answer_confidence": "Paula war sich bei der Antwort unsicher",
    "repeated_fallback": "Paula hat dich mehrmals nicht verstanden",
    "customer_request": "du wolltest mit einem Menschen sprechen",
    "complaint": "Beschwerde",
    "order_lookup_failed": "Bestellung konnte nicht gefunden werden",
}


def _when(value: Any) -> str:
    moment: Optional[datetime] = None
    if isinstance(value, (int, float)):
        moment = datetime.fromtimestamp(float(value), tz=timezone.utc).replace(tzinfo=None)
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.rstrip("Z"))
        except ValueError:
            return value
    return moment.strftime("%d.%m.%Y %H:%M UTC") if moment else "–"


def _conversation(rows: List[Dict[str, Any]]) -> List[str]:
    lines = []
    for row in rows:
        raw = row.get("data")
        data: Dict[str, Any] = raw if isinstance(raw, dict) else {}
        kind = data.get("event")
        if kind not in ("user", "bot") or not data.get("text"):
            continue
        who = "Du" if kind == "user" else "Paula/Team"
        text = " ".join(str(data["text"]).split())
        lines.append(f"  {_when(data.get('timestamp') or row.get('timestamp'))}  {who}: {text}")
    return lines


def render_text(data: CustomerData, retention_days: int) -> str:
    """German text for the customer: what we store, the conversation, purposes, rights."""
    stores = data.stores
    out = [
        "Datenauskunft nach Art. 15 DSGVO",
        f"{COMPANY} – Kundenservice mit dem Chat-Assistenten „Paula“",
        f"Erstellt am {_when(data.generated_at.isoformat())}",
        f"Deine Kennung(en): {', '.join(data.matched_ids or data.sender_ids)}",
        "",
    ]
    if not data.found:
        out += ["Zu dieser Kennung haben wir keine Daten gespeichert.", ""]
        return "\n".join(out)
    out.append("Diese Daten haben wir zu dir gespeichert (Anzahl Einträge):")
    for name, rows in stores.items():
        if rows:
            out.append(f"  - {STORE_NAMES.get(name, name)}: {len(rows)}")
    conversation = _conversation(stores.get(TRACKER_STORE) or stores.get(EVENT_BROKER) or [])
    if conversation:
        out += ["", "Dein Gesprächsverlauf:", *conversation]
    handoffs = stores.get("support.handoffs", [])
    if handoffs:
        out += ["", "Übergaben an unser Team:"]
        for handoff in handoffs:
            reason = REASONS.get(str(handoff.get("reason")), str(handoff.get("reason")))
            line = (
                f"  - am {_when(handoff.get('created_at'))} über {handoff.get('channel')}: {reason}"
            )
            if handoff.get("order_number"):
                line += f", Bestellnummer {handoff['order_number']}"
            if handoff.get("rating"):
                line += f", deine Bewertung: {handoff['rating']} von 5"
            out.append(line)
    ratings = stores.get("support.answer_ratings", [])
    if ratings:
        out += ["", "Deine Bewertungen von Paulas Antworten:"]
        for rating in ratings:
            verdict = "hat geholfen" if rating.get("helpful") else "hat nicht geholfen"
            topic = str(rating.get("topic") or "").removeprefix("faq/")
            out.append(f"  - am {_when(rating.get('created_at'))} zum Thema {topic}: {verdict}")
    for name, title, key in (
        ("support.inbox_replies", "Antworten unseres Teams", "text"),
        ("support.inbox_notes", "Interne Notizen unseres Teams über dein Anliegen", "text"),
        ("support.channel_media", "Von dir gesendete Dateien und Standorte", "kind"),
    ):
        rows = stores.get(name, [])
        if rows:
            out += ["", f"{title}:"]
            for row in rows:
                stamp = _when(row.get("created_at"))
                detail = " ".join(str(row.get(key) or "").split())
                if name == "support.channel_media":
                    detail = MEDIA_KINDS.get(detail, detail)
                if name == "support.channel_media" and row.get("caption"):
                    detail += f" („{row['caption']}“)"
                out.append(f"  - {stamp}: {detail}")
    contacts = stores.get("support.channel_contacts", [])
    for contact in contacts:
        out += [
            "",
            f"Kontaktstatus ({contact.get('channel')}): letzte Nachricht von dir "
            f"{_when(contact.get('last_inbound_at'))}"
            + (", Nachrichten abbestellt" if contact.get("opted_out") else ""),
        ]
    keep = (
        f"Gespräche ohne Aktivität löschen wir automatisch nach {retention_days} Tagen."
        if retention_days > 0
        else "Eine automatische Löschfrist ist derzeit nicht eingestellt."
    )
    out += [
        "",
        "Wozu wir diese Daten verwenden: um deine Fragen zu beantworten, dein Anliegen an unser "
        "Team zu übergeben und den Chat-Assistenten zu verbessern (nur anonymisiert).",
        f"Speicherdauer: {keep} Bestellungen bewahren wir getrennt davon auf, solange Handels- "
        "und Steuerrecht es verlangen.",
        "Deine Rechte: Du kannst Berichtigung, Löschung (Art. 17 DSGVO), Einschränkung der "
        "Verarbeitung und Datenübertragbarkeit verlangen und dich bei einer "
        "Datenschutz-Aufsichtsbehörde beschweren. Schreib uns dafür einfach im Chat.",
        "",
        "Die vollständigen Daten in maschinenlesbarer Form (JSON) liegen dieser Auskunft bei.",
        "",
    ]
    return "\n".join(out)


__all__ = ["STORE_NAMES", "render_text"]
