"""What the channels themselves say to customers (German, du-form) and tell agents."""

from __future__ import annotations

from typing import Dict, List

# Replies to messages the bot cannot read, by media kind. The customer learns what happened to
# the item and how to go on; photos and documents are kept for our team.
MEDIA_REPLIES: Dict[str, str] = {
    "photo": (
        "Danke für dein Foto! Bilder kann ich selbst nicht ansehen, aber ich habe es für unser "
        "Team gespeichert. Schreib mir kurz in Worten, worum es geht – oder „Mensch“, dann "
        "übernimmt jemand aus unserem Team."
    ),
    "document": (
        "Danke für deine Datei! Ich kann sie selbst nicht öffnen, habe sie aber für unser Team "
        "gespeichert. Schreib mir kurz in Worten, worum es geht – oder „Mensch“, dann "
        "übernimmt jemand aus unserem Team."
    ),
    "voice": (
        "Sprachnachrichten kann ich leider noch nicht anhören. Schreib mir dein Anliegen bitte "
        "als Text – oder „Mensch“, dann übernimmt jemand aus unserem Team."
    ),
    "video": (
        "Videos kann ich leider nicht ansehen, ich habe es aber für unser Team gespeichert. "
        "Schreib mir kurz in Worten, worum es geht – oder „Mensch“, dann übernimmt jemand aus "
        "unserem Team."
    ),
    "sticker": (
        "Schöner Sticker! 😊 Mit Stickern kann ich leider nichts anfangen – schreib mir deine "
        "Frage einfach als Text."
    ),
    "location": (
        "Danke für deinen Standort! Damit kann ich leider nichts anfangen. Unsere Filialen "
        "findest du, wenn du mich nach „Filialen“ fragst – sonst schreib mir deine Frage "
        "einfach als Text."
    ),
    "contact": (
        "Kontaktkarten kann ich leider nicht verarbeiten. Schreib mir deine Frage bitte als Text."
    ),
    "other": (
        "Diese Art von Nachricht kann ich leider nicht lesen. Schreib mir deine Frage bitte als "
        "Text – oder „Mensch“, dann übernimmt jemand aus unserem Team."
    ),
}
MEDIA_REPLIES["audio"] = MEDIA_REPLIES["voice"]
MEDIA_REPLIES["video_note"] = MEDIA_REPLIES["video"]
MEDIA_REPLIES["animation"] = MEDIA_REPLIES["video"]
MEDIA_REPLIES["venue"] = MEDIA_REPLIES["location"]

# How a media item appears as the customer's message in the transcript.
MEDIA_LABELS: Dict[str, str] = {
    "photo": "[Foto]",
    "document": "[Datei]",
    "voice": "[Sprachnachricht]",
    "audio": "[Audio]",
    "video": "[Video]",
    "video_note": "[Videonachricht]",
    "animation": "[GIF]",
    "sticker": "[Sticker]",
    "location": "[Standort]",
    "venue": "[Ort]",
    "contact": "[Kontakt]",
    "other": "[Nachricht ohne Text]",
}

# The bot could not answer (the action server is down, an action failed): never silence.
STILL_THERE = (
    "Einen Moment bitte – bei mir hakt es gerade kurz. Schreib mir gleich nochmal, oder tipp "
    "auf „Mit einem Menschen sprechen“, dann übernimmt jemand aus unserem Team."
)
HUMAN_BUTTON: Dict[str, str] = {"title": "Mit einem Menschen sprechen", "payload": "/request_human"}

OPTED_OUT = (
    "Alles klar, du bekommst von uns keine WhatsApp-Nachrichten mehr. Wenn du wieder mit uns "
    "schreiben möchtest (oder nur etwas abbrechen wolltest), schick einfach START."
)
META_OPTED_OUT = (
    "Alles klar, du bekommst von uns hier keine Nachrichten mehr. Wenn du wieder mit uns "
    "schreiben möchtest (oder nur etwas abbrechen wolltest), schick einfach START."
)
OPTED_IN = (
    "Willkommen zurück! Du bekommst wieder Nachrichten von uns. Wie kann ich dir helfen?"
)


def numbered_options(titles: List[str]) -> str:
    """``1. …`` lines and the hint how to answer: "Antworte mit 1, 2 oder 3."."""
    lines = [f"{number}. {title}" for number, title in enumerate(titles, start=1)]
    numbers = [str(number) for number in range(1, len(titles) + 1)]
    if len(numbers) == 1:
        hint = "Antworte mit 1."
    else:
        hint = f"Antworte mit {', '.join(numbers[:-1])} oder {numbers[-1]}."
    return "\n".join(lines) + "\n\n" + hint


__all__ = [
    "HUMAN_BUTTON",
    "STILL_THERE",
    "MEDIA_LABELS",
    "MEDIA_REPLIES",
    "META_OPTED_OUT",
    "OPTED_IN",
    "OPTED_OUT",
    "numbered_options",
]
