"""Personal data never reaches the training data."""

from __future__ import annotations

import pytest

from bot.trainer import mask_pii


@pytest.mark.parametrize(
    ("message", "masked"),
    [
        ("wo bleibt BP-123456??", "wo bleibt BP-000000??"),
        ("bestellung bp 654321 plz 80331", "bestellung BP-000000 plz 80331"),
        ("Bestellnr. 123456", "Bestellnr. BP-000000"),
        ("schreibt an max.mustermann@web.de", "schreibt an kunde@example.com"),
        ("ruft mich an: 0171 2345678", "ruft mich an: +49 000 0000000"),
        ("Tel +49 (89) 123 45 67", "Tel +49 000 0000000"),
        ("Hallo, ich heiße Max Mustermann und will zurückgeben",
         "Hallo, ich heiße Alex und will zurückgeben"),
        ("mein name ist lisa, wo ist mein paket", "mein name ist Alex, wo ist mein paket"),
        ("ich heisse Jörg", "ich heisse Alex"),
    ],
)
def test_masks(message: str, masked: str) -> None:
    assert mask_pii(message) == masked


@pytest.mark.parametrize("message", [
    "ich bin sauer", "lieferung in 2-4 tagen für 4,95 €", "plz 80331", "ab 50 euro gratis",
])
def test_leaves_ordinary_messages_alone(message: str) -> None:
    assert mask_pii(message) == message
