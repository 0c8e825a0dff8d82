"""Customer text in alerts, reports and the Trends page is masked."""

from __future__ import annotations

from bot.insights._mask import mask_text


def test_order_numbers_contacts_postcodes_and_introduced_names_are_masked() -> None:
    masked = mask_text("Paket BP-482913 kam kaputt an, PLZ 80331, schreib an anna.b@web.de "
                       "oder 0170 1234567. Ich heiße Anna Beispiel. IBAN DE89 3704 0044 0532 "
                       "0130 00")
    for secret in ("482913", "80331", "anna.b@web.de", "1234567", "Anna", "3704"):
        assert secret not in masked
    assert masked.startswith("Paket BP-000000 kam kaputt an, PLZ 00000")


def test_ordinary_numbers_stay_and_long_text_is_shortened() -> None:
    assert mask_text("Zelt für 3 Personen, 14 Tage") == "Zelt für 3 Personen, 14 Tage"
    assert len(mask_text("a" * 1000)) == 300
