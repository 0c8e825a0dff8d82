"""Text normalisation and similarity for duplicate detection and grouping of messages."""

from __future__ import annotations

import re
from typing import FrozenSet, List, Sequence, Tuple

_FOLD = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"})
_NON_WORD = re.compile(r"[^\w\s]+")
_SPACES = re.compile(r"\s+")
NEAR_DUPLICATE = 0.8


def normalize(text: str) -> str:
    """Lowercase, umlauts folded, punctuation and emoji dropped, whitespace squashed."""
    folded = text.lower().translate(_FOLD)
    return _SPACES.sub(" ", _NON_WORD.sub(" ", folded)).strip()


def shingles(text: str) -> FrozenSet[str]:
    """Character trigrams of the normalised text (word boundaries included)."""
    padded = f" {normalize(text)} "
    return frozenset(padded[i : i + 3] for i in range(len(padded) - 2))


def jaccard(a: FrozenSet[str], b: FrozenSet[str]) -> float:
    if not a or not b:
        return 1.0 if a == b else 0.0
    common = len(a & b)
    return common / (len(a) + len(b) - common)


def near_pairs(
    texts: Sequence[str], labels: Sequence[str], threshold: float = NEAR_DUPLICATE
) -> List[Tuple[int, int, float]]:
    """Index pairs of texts under *different* labels that are the same or nearly the same."""
    grams = [shingles(text) for text in texts]
    sizes = [len(g) for g in grams]
    order = sorted(range(len(texts)), key=lambda i: sizes[i])
    pairs = []
    for position, i in enumerate(order):
        for j in order[position + 1 :]:
            # Jaccard >= t needs |small| >= t * |large|: sorted by size, stop early.
            if sizes[i] < threshold * sizes[j]:
                break
            if labels[i] == labels[j]:
                continue
            score = jaccard(grams[i], grams[j])
            if score >= threshold:
                pairs.append((min(i, j), max(i, j), score))
    return sorted(pairs, key=lambda p: -p[2])
