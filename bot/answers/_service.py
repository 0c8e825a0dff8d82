"""Editing, undoing and listing live FAQ answers of a bot project (blocking; in async code
call from a thread)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional

import yaml

from bot.answers._rules import AnswerRefused, answer_problems, check_answer, company_answer
from bot.answers._store import AnswerStore, Version

FAQ_RESPONSE = "utter_faq/"
COMPANY_FILE = Path("company") / "bergpfad.yml"  # the facts, relative to the project
MAX_AUTHOR_CHARS = 255  # AnswerEdit.author / undone_by


def _who(author: str) -> str:
    return " ".join(author.split())[:MAX_AUTHOR_CHARS] or "unbekannt"


def domain_answers(root: Path) -> Dict[str, str]:
    """``topic -> answer text`` of every ``utter_faq/<topic>`` in the project's domain.yml."""
    domain = yaml.safe_load((root / "domain.yml").read_text(encoding="utf-8")) or {}
    answers = {}
    for name, variations in (domain.get("responses") or {}).items():
        if str(name).startswith(FAQ_RESPONSE) and variations:
            answers[str(name)[len(FAQ_RESPONSE):]] = str(variations[0].get("text") or "")
    return answers


def _known(root: Path, topic: str) -> str:
    answers = domain_answers(root)
    if topic not in answers:
        raise AnswerRefused(
            f"Das Thema „{topic}“ gibt es nicht (keine Antwort utter_faq/{topic} in domain.yml); "
            "neue Themen legt `python -m bot faq add` an."
        )
    return answers[topic]


def edit_answer(root: Path, store: AnswerStore, topic: str, text: str, author: str) -> Version:
    """Check ``text`` and make it the live answer of ``topic``; :class:`AnswerRefused` (German)
    and nothing changed when a check fails."""
    domain_text = _known(root, topic)
    cleaned = check_answer(text, root / COMPANY_FILE, topic)
    live = store.live(topic)
    if cleaned == (live.text if live else domain_text):
        raise AnswerRefused("Nicht übernommen: Die Antwort ist unverändert.")
    return store.record(topic, cleaned, _who(author))


def undo_answer(root: Path, store: AnswerStore, topic: str, author: str) -> Optional[Version]:
    """Take back the live edit of ``topic``; returns the edit that applies again (None: the
    answer from domain.yml). The restored text is checked against today's facts first."""
    domain_text = _known(root, topic)
    history = [version for version in store.history(topic) if version.undone_at is None]
    if not history:
        raise AnswerRefused(
            f"Für „{topic}“ gibt es nichts rückgängig zu machen: es gilt die Antwort aus "
            "domain.yml."
        )
    previous = history[1] if len(history) > 1 else None
    problems = answer_problems(previous.text if previous else domain_text,
                               company_answer(root / COMPANY_FILE, topic))
    if problems:
        before = "die Fassung davor" if previous else "die Antwort aus domain.yml"
        raise AnswerRefused(
            f"Nicht rückgängig gemacht: {before} passt nicht mehr. " + " ".join(problems)
            + " Ändere die Antwort stattdessen."
        )
    if not store.undo(topic, _who(author), expected=history[0].id):
        raise AnswerRefused(
            f"Nicht rückgängig gemacht: „{topic}“ wurde gerade von jemand anderem geändert. "
            "Bitte lade die Seite neu und prüfe den Verlauf."
        )
    return previous


@dataclass
class AnswerRow:
    """One topic for the trainer page: the answer customers get now, and where it comes from."""

    topic: str
    text: str
    domain_text: str
    live: Optional[Version]
    history: List[Version] = field(default_factory=list)


def answer_table(root: Path, store: AnswerStore, history: int = 5) -> List[AnswerRow]:
    """Every FAQ topic of domain.yml with its live answer and its last ``history`` edits."""
    current = store.current()
    edits = store.all_history()
    rows = []
    for topic, domain_text in sorted(domain_answers(root).items()):
        live = current.get(topic)
        rows.append(AnswerRow(
            topic=topic,
            text=live.text if live else domain_text,
            domain_text=domain_text,
            live=live,
            history=edits.get(topic, [])[:history],
        ))
    return rows
