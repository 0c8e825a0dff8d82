"""Folding German spelling variants: 'Rücksendung', 'ruecksendung' and 'rucksendung' meet."""

from __future__ import annotations

import re

_DIGRAPHS = re.compile(r"(?<=[a-z])(ae|oe|ue)|^(ae|oe|ue)")
_REPEATS = re.compile(r"([a-z])\1{2,}")
_FOLD = str.maketrans({"ä": "a", "ö": "o", "ü": "u", "ß": "s", "é": "e", "è": "e", "à": "a"})


def fold_german(word: str) -> str:
    """A spelling-insensitive key for a German word ('Rücksendeetikett' -> 'rucksendeetikett')."""
    folded = word.lower().replace("ß", "ss").translate(_FOLD)
    folded = _DIGRAPHS.sub(lambda m: (m.group(1) or m.group(2))[0], folded)
    return _REPEATS.sub(r"\1\1", folded)
