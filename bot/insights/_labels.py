"""German names of the signals and FAQ topics (topic titles from actions/topics.yml)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Dict

import yaml

from bot.settings import PROJECT_ROOT

KIND_LABELS = {
    "message": "Nachrichten",
    "conversation": "Gespräche",
    "topic": "FAQ-Themen",
    "complaint": "Beschwerden",
    "order_lookup": "Bestellstatus-Abfragen",
    "ask_back": "Rückfragen des Bots",
    "unanswered": "Unbeantwortete Nachrichten",
    "handoff": "Übergaben an das Team",
    "rating": "Bewertungen",
    "helpful": "Antwortbewertungen (👍/👎)",
}
REASON_LABELS = {
    "low_nlu_confidence": "Bot unsicher (Absicht)",
    "low_answer_confidence": "Bot unsicher (Antwort)",
    "repeated_fallback": "Wieder nicht verstanden",
    "customer_request": "Kunde wollte einen Menschen",
    "complaint": "Beschwerde",
    "order_lookup_failed": "Bestellsuche gescheitert",
    "order_locked": "Bestellnummer gesperrt",
}
# Titles in alerts where the button title reads oddly on its own.
TOPIC_OVERRIDES = {"damaged_parcel": "Beschädigte Pakete"}


@lru_cache(maxsize=1)
def topic_titles(path: Path = PROJECT_ROOT / "actions" / "topics.yml") -> Dict[str, str]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError):
        return {}
    titles = {str(k): str(v.get("title") or k) for k, v in data.items() if isinstance(v, dict)}
    titles.update(TOPIC_OVERRIDES)
    return titles


def series_label(kind: str, key: str) -> str:
    if kind == "topic":
        return topic_titles().get(key, key)
    if kind == "handoff" and key:
        return REASON_LABELS.get(key, key)
    return KIND_LABELS.get(kind, kind)


def german_number(value: float, digits: int = 1) -> str:
    return f"{value:.{digits}f}".replace(".", ",")


__all__ = ["KIND_LABELS", "REASON_LABELS", "german_number", "series_label", "topic_titles"]
