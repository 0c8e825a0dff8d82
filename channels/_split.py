"""Splitting long replies into messenger-sized parts, at sentence boundaries where possible."""

from __future__ import annotations

import re
from typing import Callable, List

Measure = Callable[[str], int]

# A break after a sentence end (., !, ?, …, optionally closing quotes/brackets) or a line break.
_BREAK = re.compile(r"(?<=[.!?…])[\"'”“»)\]]*\s+|\n+")


def utf16_length(text: str) -> int:
    """Length in UTF-16 code units: how Telegram counts its 4096-character limit."""
    return len(text.encode("utf-16-le")) // 2


def _pieces(text: str) -> List[str]:
    """``text`` cut after each sentence end / line break, keeping the separators."""
    pieces: List[str] = []
    start = 0
    for match in _BREAK.finditer(text):
        pieces.append(text[start : match.end()])
        start = match.end()
    if start < len(text):
        pieces.append(text[start:])
    return pieces


def _hard_split(text: str, limit: int, measure: Measure) -> List[str]:
    """Split one over-long sentence at spaces, and a word longer than ``limit`` anywhere."""
    parts: List[str] = []
    current = ""
    for word in re.split(r"(?<=\s)", text):
        if measure(current + word) <= limit:
            current += word
            continue
        if current.strip():
            parts.append(current)
        current = ""
        while measure(word) > limit:
            cut = limit
            while cut > 1 and measure(word[:cut]) > limit:
                cut -= 1
            parts.append(word[:cut])
            word = word[cut:]
        current = word
    if current.strip():
        parts.append(current)
    return parts


def split_text(text: str, limit: int, measure: Measure = len) -> List[str]:
    """Parts of ``text`` each at most ``limit`` long (by ``measure``), nothing lost but outer
    whitespace; sentences stay whole unless one alone is longer than ``limit``."""
    if limit < 1:
        raise ValueError("limit must be positive")
    text = text.strip()
    if not text:
        return []
    if measure(text) <= limit:
        return [text]
    parts: List[str] = []
    current = ""
    for piece in _pieces(text):
        if measure((current + piece).rstrip()) <= limit:
            current += piece
            continue
        if current.strip():
            parts.append(current.strip())
        current = ""
        if measure(piece.rstrip()) <= limit:
            current = piece
        else:
            *full, rest = _hard_split(piece, limit, measure)
            parts.extend(part.strip() for part in full if part.strip())
            current = rest
    if current.strip():
        parts.append(current.strip())
    return parts


__all__ = ["split_text", "utf16_length"]
