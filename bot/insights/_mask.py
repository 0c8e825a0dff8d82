"""Masking customer text before it is shown in alerts, reports and the Trends page.

Reuses the trainers' masking (order numbers, e-mail addresses, phone numbers, names after
"ich heiße" …) and adds postal codes and IBANs."""

from __future__ import annotations

import re

from bot.trainer._masking import mask_pii

POSTCODE_PLACEHOLDER = "00000"
IBAN_PLACEHOLDER = "DE00 0000 0000 0000 0000 00"
_POSTCODE = re.compile(r"(?<![\d\-+])\b\d{5}\b(?![\-\d])")
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?:\s?[A-Z0-9]{4}){3,7}(?:\s?[A-Z0-9]{1,3})?\b")
MAX_CHARS = 300


def mask_text(text: str) -> str:
    """``text`` shortened to :data:`MAX_CHARS` with personal data replaced."""
    masked = _IBAN.sub(IBAN_PLACEHOLDER, " ".join(str(text).split()))
    masked = mask_pii(masked)
    masked = _POSTCODE.sub(POSTCODE_PLACEHOLDER, masked)
    if len(masked) > MAX_CHARS:
        masked = masked[: MAX_CHARS - 1] + "…"
    return masked


__all__ = ["mask_text"]
