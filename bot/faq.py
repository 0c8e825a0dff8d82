"""The company's FAQ facts (company/bergpfad.yml) and checks that answers carry them."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List

import yaml

from bot.settings import PROJECT_ROOT

COMPANY_FILE = PROJECT_ROOT / "company" / "bergpfad.yml"
MAX_ANSWER_CHARS = 400

_UNITS = "€|%|°C|Uhr|Tage|Tagen|Werktage|Werktagen|Minuten|Stunden|Jahre|Punkte"
_NUMBER = re.compile(rf"\d+(?:[.,]\d+)*(?:\s?(?:{_UNITS}))?")
_EMAIL_OR_URL = re.compile(r"[\w.+-]+@[\w-]+\.example|[\w-]+\.example(?:/[\w/-]+)?")
# Names, places, brands and labels a wrong answer would most likely lose.
KEY_TERMS = (
    "Deutschland", "Österreich", "Schweiz", "DHL", "PayPal", "Visa", "Mastercard", "Apple Pay",
    "Google Pay", "Klarna", "Vorkasse", "Kreditkarte", "Berlin", "München", "Hamburg",
    "Kastanienallee", "Isartalstraße", "Schanzenstraße", "bluesign", "Fair Wear", "QR-Code",
    "Packstation", "Postnummer", "Click & Collect", "Spam-Ordner", "PDF", "Kostenvoranschlag",
    "Reparaturformular", "Gast", "Foto", "Bonität", "Größentabelle", "Weichspüler", "Trockner",
    "Hochschul-E-Mail", "Link", "Jacken", "Zelte", "Rucksäcke", "klimaneutral", "Recyclingmaterial",
)
_FORMAL = re.compile(r"(?<![.!?:] )(?<!^)\b(?:Sie|Ihnen|Ihr(?:e[mnrs]?)?)\b")
_QUOTED = re.compile(r"„([^“]+)“")
_PHONE = re.compile(r"\+\d[\d\s-]+\d")


@dataclass(frozen=True)
class Topic:
    id: str
    question: str
    answer: str


def load_topics(path: Path = COMPANY_FILE) -> Dict[str, Topic]:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    return {
        entry["id"]: Topic(id=entry["id"], question=entry["question"], answer=entry["answer"])
        for entry in raw["topics"]
    }


def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("–", "-").replace("\u202f", " ")).strip().lower()


def facts(answer: str) -> List[str]:
    """The checkable facts of an answer: amounts, durations, numbers, addresses, named labels."""
    found: List[str] = []
    for pattern in (_PHONE, _EMAIL_OR_URL, _QUOTED, _NUMBER):
        for match in pattern.finditer(answer):
            value = match.group(1) if pattern is _QUOTED else match.group(0)
            if value not in found and not any(value in longer for longer in found):
                found.append(value)
    found.extend(term for term in KEY_TERMS if term in answer and term not in found)
    return found


def addresses_formally(answer: str) -> bool:
    """True if the answer says 'Sie'/'Ihnen'/'Ihr' to the customer (mid-sentence, capitalised)."""
    return bool(_FORMAL.search(answer))


def missing_facts(answer: str, reference: str) -> List[str]:
    """Facts of ``reference`` that ``answer`` does not mention."""
    text = _squash(answer)
    return [fact for fact in facts(reference) if _squash(fact) not in text]
