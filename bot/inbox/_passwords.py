"""Password hashing with scrypt (hashlib), stored as ``scrypt$n$r$p$salt$hash``."""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import secrets
from pathlib import Path
from typing import FrozenSet

from bot.errors import BotError

N, R, P = 2**14, 8, 1
KEY_LENGTH = 32
MIN_LENGTH = 10
MIN_DISTINCT = 5
COMMON_PASSWORDS = Path(__file__).with_name("data") / "common_passwords.txt"


class WeakPasswordError(BotError, ValueError):
    """The password is too short or too common (the CLI prints it as one line and exits 2)."""


@functools.lru_cache(maxsize=1)
def _common() -> FrozenSet[str]:
    lines = COMMON_PASSWORDS.read_text(encoding="utf-8").splitlines()
    return frozenset(
        line.strip().lower() for line in lines if line.strip() and not line.startswith("#")
    )


def _stem(password: str) -> str:
    """The password without trailing digits and symbols, spaces and case: ``Passwort2024!``
    and ``pass wort 1`` have the stem ``passwort``."""
    lowered = password.lower()
    stem = lowered.rstrip("0123456789!?.,;:-_+*#$%&/()=@ ")
    return (stem or lowered).replace(" ", "")


def check_password_strength(password: str) -> None:
    """Raise :class:`WeakPasswordError` (German message) unless ``password`` is good enough:
    at least :data:`MIN_LENGTH` characters, :data:`MIN_DISTINCT` different ones, and neither
    it nor its stem is on the shipped list of common passwords."""
    if len(password) < MIN_LENGTH:
        raise WeakPasswordError(f"Das Passwort braucht mindestens {MIN_LENGTH} Zeichen.")
    common = _common()
    if (
        len(set(password.lower())) < MIN_DISTINCT
        or password.lower() in common
        or password.lower().replace(" ", "") in common
        or _stem(password) in common
    ):
        raise WeakPasswordError(
            "Dieses Passwort ist zu leicht zu erraten (es steht auf einer Liste häufiger "
            "Passwörter). Nimm besser einen Satz aus mehreren Wörtern."
        )


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def hash_password(password: str) -> str:
    check_password_strength(password)
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=N, r=R, p=P, dklen=KEY_LENGTH, maxmem=64 * 1024**2
    )
    return f"scrypt${N}${R}${P}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, stored: str) -> bool:
    """True if ``password`` matches ``stored`` (constant-time comparison)."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(digest)
        actual = hashlib.scrypt(
            password.encode("utf-8"),
            salt=base64.b64decode(salt),
            n=int(n),
            r=int(r),
            p=int(p),
            dklen=len(expected),
            maxmem=64 * 1024**2,
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


def generate_password() -> str:
    """A one-time password that is easy to type: 4 groups of 4 letters/digits."""
    alphabet = "abcdefghjkmnpqrstuvwxyz23456789"
    return "-".join("".join(secrets.choice(alphabet) for _ in range(4)) for _ in range(4))


# A hash of a random password, verified against when the agent name is unknown, so that a
# failed login takes the same time whether or not the name exists.
def dummy_hash() -> str:
    return hash_password(secrets.token_urlsafe(16))
