"""Finds the separate questions in one message ("wie lange dauert die lieferung und kann ich
mit paypal zahlen?").

A message is cut at question marks, sentence ends, line breaks and joining words (und, oder,
außerdem, …). Only parts that read as a question count: they end with "?" or start with a
question word or a verb ("kann ich …", "gibt es …"). Statements around a question ("Hallo, ich
habe letzte Woche bestellt.") are not questions of their own, and what follows "und"/"oder"
without being a question continues the question before it ("kann ich online bestellen und im
laden abholen").
"""

from __future__ import annotations

import re
from typing import List

from bot.nlu._fold import fold_german

_JOINING_WORDS = r"(?:und|oder|ausserdem|außerdem|zudem|sowie|and|also)"
_JOINER = re.compile(rf"\s+{_JOINING_WORDS}\s+", re.IGNORECASE)
_CUT = re.compile(rf"(\?+)|\n+|(?<=[.!;])\s+|{_JOINER.pattern}", re.IGNORECASE)
_WORDS = re.compile(r"\w+", re.UNICODE)
# Joining words at the start of a part ("…. Außerdem: wie lange …") are not its first word.
_LEADING_JOINERS = re.compile(
    r"^\W*(?:(?:und|oder|ausserdem|außerdem|zudem|sowie|and|also|noch|dann|achso)\b\W*)+",
    re.IGNORECASE,
)
# Folded (fold_german) first words of a question: question words and verbs that open one.
QUESTION_OPENERS = frozenset(
    """
    wie was wann wo wohin woher warum wieso weshalb welche welcher welches welchen welchem
    wer wen wem wieviel wieviele kann kannst konnt konnen konntet konnte konntest gibt gibts
    habt hast hat haben muss musst mussen darf durft durfen bekomme bekommt krieg krieg
    kriege nehmt nimmt bietet liefert versendet verschickt macht ist sind seid bin geht gehts
    sollte soll akzeptiert
    how what when where which can could do does is are will
    """.split()
)
# Openers that make a question on their own, already with one more word ("gibts express").
_QUESTION_WORDS = frozenset(
    """
    wie was wann wo wohin woher warum wieso weshalb welche welcher welches welchen welchem
    wer wen wem wieviel wieviele gibt gibts how what when where which
    """.split()
)


def questions(text: str) -> List[str]:
    """The parts of ``text`` that read as questions, in order (empty if none or one part)."""
    parts: List[str] = []
    position = 0
    joiner = ""  # the joining word ("und", "oder", …) before the part being read, if any
    for match in _CUT.finditer(text):
        end = match.end(1) if match.group(1) else match.start()
        _add(parts, text[position:end], joiner)
        joiner = match.group(0).strip() if _JOINER.fullmatch(match.group(0)) else ""
        position = match.end()
    _add(parts, text[position:], joiner)
    return [part.strip() for part in parts if _reads_as_question(part)]


def _add(parts: List[str], part: str, joiner: str) -> None:
    """Append ``part``; after "und"/"oder" a part that is no question of its own continues the
    previous one ("kann ich online bestellen und im laden abholen")."""
    if joiner and parts and not _reads_as_question(part):
        parts[-1] = f"{parts[-1].rstrip()} {joiner} {part.strip()}"
        return
    parts.append(_LEADING_JOINERS.sub("", part))


def _reads_as_question(part: str) -> bool:
    words = _WORDS.findall(_LEADING_JOINERS.sub("", part))
    if not words:
        return False
    asked = part.rstrip().endswith("?")
    opens = fold_german(words[0]) in QUESTION_OPENERS
    # "gibts express" is a question; "bin gespannt" (a verb opening a statement) is not.
    enough = 2 if fold_german(words[0]) in _QUESTION_WORDS else 3
    return asked or (opens and len(words) >= enough)
