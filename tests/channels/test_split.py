"""Long replies are cut into messenger-sized parts at sentence boundaries, nothing lost."""

from __future__ import annotations

import pytest

from channels._split import split_text, utf16_length


def test_short_text_stays_whole() -> None:
    assert split_text("  Hallo Welt.  ", 100) == ["Hallo Welt."]


def test_cuts_after_sentences_and_keeps_every_word() -> None:
    text = "Erster Satz ist hier. Zweiter Satz folgt! Dritter Satz? Vierter Satz."
    parts = split_text(text, 45)
    assert all(len(part) <= 45 for part in parts)
    assert all(part.endswith((".", "!", "?")) for part in parts)
    assert " ".join(parts) == text


def test_paragraphs_are_break_points() -> None:
    parts = split_text("Absatz eins\n\nAbsatz zwei ist etwas länger", 30)
    assert parts == ["Absatz eins", "Absatz zwei ist etwas länger"]


def test_an_overlong_sentence_is_cut_between_words() -> None:
    text = "wort " * 50
    parts = split_text(text, 42)
    assert all(len(part) <= 42 for part in parts)
    assert " ".join(parts).split() == text.split()


def test_a_word_longer_than_the_limit_is_cut_hard() -> None:
    assert split_text("x" * 25, 10) == ["x" * 10, "x" * 10, "x" * 5]


def test_telegram_counts_utf16_units() -> None:
    emoji = "😀" * 3000  # 6000 UTF-16 units, 3000 code points
    parts = split_text(emoji, 4096, utf16_length)
    assert [utf16_length(part) for part in parts] == [4096, 1904]
    assert "".join(parts) == emoji


@pytest.mark.parametrize("text", ["", "   ", "\n\n"])
def test_nothing_to_send(text: str) -> None:
    assert split_text(text, 10) == []
