"""Which language a customer writes in: German, or English (a word count, no model).

Paula answers in German; a customer who writes English is told in English that a colleague
will answer in English (the handoff notice, the waiting notice). Light on purpose: the NLU
pipeline and the inbox both use it.
"""

from __future__ import annotations

import re

# Frequent English words that German customers do not use; words that are German or dialect
# too ("will", "am", "was", "so", "a", "i", "is", "im", "do", "to", "me") are left out. A
# message with more of these than of the German ones is English.
_ENGLISH_WORDS = frozenset(
    "the you your please can could would i'm my with are does how what where when why have has "
    "it this that of for and someone somebody anyone call back speak talk "
    "want need from there here order package shipping thanks thank hello".split()
)
_GERMAN_WORDS = frozenset(
    "ich du sie der die das und ist nicht mit bitte mein meine meinen ein eine einen wie was wo "
    "kann koennt könnt können habe hab bei euch ihr mir mich zu von auf für fuer noch schon "
    "wann mal jemand".split()
)
_WORD = re.compile(r"[a-zäöüß']+")


def looks_english(text: str) -> bool:
    """Whether a message is written in English rather than German (a word count, no model)."""
    words = _WORD.findall(text.lower())
    english = sum(word in _ENGLISH_WORDS for word in words)
    german = sum(word in _GERMAN_WORDS for word in words)
    return english >= 2 and english > german


__all__ = ["looks_english"]
