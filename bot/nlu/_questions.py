"""Finds the separate questions in one message ("wie lange dauert die lieferung und kann ich
mit paypal zahlen?").

A message is cut at question marks, sentence ends, line breaks and joining words (und, oder,
außerdem, …). Only parts that read as a question count: they end with "?" or start with a
question word or a verb ("kann ich …", "gibt es …"). Statements around a question ("Hallo, ich
habe letzte Woche bestellt.") are not questions of their own.
"""

from __future__ import annotations

import re
from typing import List

from bot.nlu._fold import fold_german

_CUT = re.compile(
    r"(\?+)|\n+|(?<=[.!;])\s+|\s+(?:und|oder|ausserdem|außerdem|zudem|sowie|and|also)\s+",
    re.IGNORECASE,
)
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


def questions(text: str) -> List[str]:
    """The parts of ``text`` that read as questions, in order (empty if none or one part)."""
    parts: List[str] = []
    position = 0
    for match in _CUT.finditer(text):
        end = match.end(1) if match.group(1) else match.start()
        parts.append(text[position:end])
        position = match.end()
    parts.append(text[position:])
    found = []
    for part in parts:
        part = _LEADING_JOINERS.sub("", part)
        words = _WORDS.findall(part)
        if not words:
            continue
        asked = part.rstrip().endswith("?")
        opens = fold_german(words[0]) in QUESTION_OPENERS
        if (asked and len(words) >= 1) or (opens and len(words) >= 3):
            found.append(part.strip())
    return found
