"""Finding the separate questions in one customer message."""

from __future__ import annotations

import pytest

from bot.nlu._questions import questions


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("wie lange dauert die lieferung und kann ich mit paypal zahlen?",
         ["wie lange dauert die lieferung", "kann ich mit paypal zahlen?"]),
        ("lieferzeit? versandkosten?", ["lieferzeit?", "versandkosten?"]),
        ("gibts nen rabatt fuer studis. ausserdem wie lang habt ihr offen",
         ["gibts nen rabatt fuer studis.", "wie lang habt ihr offen"]),
        # What follows "und" without being a question belongs to the question before it.
        ("kann ich online bestellen und im laden abholen, und wann habt ihr offen",
         ["kann ich online bestellen und im laden abholen,", "wann habt ihr offen"]),
        ("liefert ihr an packstationen? und gibts expressversand",
         ["liefert ihr an packstationen?", "gibts expressversand"]),
        ("how long does delivery take and can I pay with PayPal?",
         ["how long does delivery take", "can I pay with PayPal?"]),
    ],
)
def test_each_question_is_found_in_order(text: str, parts: list[str]) -> None:
    assert questions(text) == parts


@pytest.mark.parametrize(
    "text",
    [
        # A story around one question is one question.
        "Hallo, ich hab letzte Woche bestellt und bin gespannt. Wie lange dauert die Lieferung?",
        # "und" inside one question joins words, not questions.
        "Versand und Rückgabe kosten was?",
        "ich möchte meine bestellung stornieren",
    ],
)
def test_statements_and_joined_words_are_not_separate_questions(text: str) -> None:
    assert len(questions(text)) <= 1
