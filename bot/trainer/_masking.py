"""Masking personal data before a customer message becomes training data.

Placeholders keep the shape the NLU pipeline learns from (an order number still looks like one
to the regex featurizer) while the customer's data is gone:

==================  =====================
order number        ``BP-000000``
e-mail address      ``kunde@example.com``
phone number        ``+49 000 0000000``
name after          ``Alex``
"ich heiße" etc.
==================  =====================
"""

from __future__ import annotations

import re

ORDER_PLACEHOLDER = "BP-000000"
EMAIL_PLACEHOLDER = "kunde@example.com"
PHONE_PLACEHOLDER = "+49 000 0000000"
NAME_PLACEHOLDER = "Alex"

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_ORDER = re.compile(r"\b[Bb]\s?[Pp][\s\-_.:#]*\d{6}\b|(?<![\d\-+])\b\d{6}\b(?![\-\d])")
# +49 …, 0049 …, 0 89 …: at least 7 digits, spaces, slashes, dashes and brackets inside.
_PHONE = re.compile(r"(?<![\w+])(?:\+|00)\d[\d\s/()\-]{5,}\d|(?<![\w+])0\d[\d\s/()\-]{5,}\d")
_NAME_INTRO = (
    r"ich\s+hei(?:ß|ss)e|mein\s+name\s+(?:ist|lautet)|hier\s+(?:ist|spricht|schreibt)|"
    r"ich\s+bin\s+(?:der|die)|name\s*:"
)
_NAME = re.compile(
    rf"(?P<intro>\b(?:{_NAME_INTRO}))(?P<space>\s+)"
    r"(?P<name>[A-Za-zÄÖÜäöüß][\w'\-]*(?:\s+[A-ZÄÖÜ][\w'\-]*)?)",
    re.IGNORECASE,
)


def _digits(text: str) -> int:
    return sum(ch.isdigit() for ch in text)


def mask_pii(text: str) -> str:
    """``text`` with order numbers, e-mail addresses, phone numbers and names replaced."""
    masked = _EMAIL.sub(EMAIL_PLACEHOLDER, text)
    masked = _PHONE.sub(
        lambda m: PHONE_PLACEHOLDER if _digits(m.group(0)) >= 7 else m.group(0), masked
    )
    masked = _ORDER.sub(ORDER_PLACEHOLDER, masked)

    def name(match: "re.Match[str]") -> str:
        return f"{match.group('intro')}{match.group('space')}{NAME_PLACEHOLDER}"

    return _NAME.sub(name, masked)


def contains_pii(text: str) -> bool:
    return mask_pii(text) != text
