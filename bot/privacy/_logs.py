"""Log hygiene: keyed pseudonyms for sender ids in log lines, private log files and ``var/``.

Log lines name a customer only by :func:`pseudo`, a short keyed hash (HMAC-SHA256 with
``LOG_PSEUDONYM_KEY``): the same customer gets the same pseudonym in every process, so the
logs stay correlatable, but the phone number or chat id is not in them. The key is read on the
first log line that needs it, never at import time.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import stat
import threading
from pathlib import Path
from typing import Optional

from bot.errors import BotError

PSEUDONYM_PREFIX = "c-"
PRIVATE_FILE = 0o600
PRIVATE_DIR = 0o700
_LOG_SUFFIXES = (".log",)
_DATA_SUFFIXES = (".db", ".db-wal", ".db-shm", ".yml", ".json", ".txt")

_lock = threading.Lock()
_key: Optional[bytes] = None


def set_pseudonym_key(key: str) -> None:
    """Use ``key`` for pseudonyms from now on ("" = a random key for this process)."""
    global _key
    with _lock:
        _key = (key or secrets.token_urlsafe(32)).encode("utf-8")


def _current_key() -> bytes:
    global _key
    with _lock:
        if _key is None:
            from bot.settings import load_settings

            try:
                configured = load_settings().log_pseudonym_key
            except BotError:
                configured = ""
            _key = (configured or secrets.token_urlsafe(32)).encode("utf-8")
        return _key


def pseudonym(sender_id: str, key: Optional[str] = None) -> str:
    """``c-`` and 12 hex digits of HMAC-SHA256(key, sender id)."""
    secret = key.encode("utf-8") if key is not None else _current_key()
    digest = hmac.new(secret, str(sender_id).encode("utf-8"), hashlib.sha256).hexdigest()
    return PSEUDONYM_PREFIX + digest[:12]


class Pseudonym:
    """A sender id that prints as its pseudonym; computed only if the line is really logged."""

    __slots__ = ("_sender_id",)

    def __init__(self, sender_id: object) -> None:
        self._sender_id = "" if sender_id is None else str(sender_id)

    def __str__(self) -> str:
        return pseudonym(self._sender_id) if self._sender_id else "-"

    __repr__ = __str__


def pseudo(sender_id: object) -> Pseudonym:
    """Wrap a sender id for a log call: ``logger.info("… %s", pseudo(sender_id))``."""
    return Pseudonym(sender_id)


def create_private_file(path: Path) -> Path:
    """Create ``path`` (if missing) readable by its owner only; tighten an existing one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_CREAT | os.O_APPEND | os.O_WRONLY, PRIVATE_FILE)
    os.close(descriptor)
    os.chmod(path, PRIVATE_FILE)
    return path


def secure_var_dir(var_dir: Path) -> None:
    """``var/`` mode 700; its logs, databases and generated files 600 (symlinks left alone)."""
    var_dir.mkdir(parents=True, exist_ok=True)
    if not var_dir.is_symlink():
        os.chmod(var_dir, PRIVATE_DIR)
    for entry in var_dir.iterdir():
        if entry.is_symlink() or not entry.is_file():
            continue
        name = entry.name
        if any(name.endswith(s) or f"{s}." in name for s in _LOG_SUFFIXES) or name.endswith(
            _DATA_SUFFIXES
        ):
            if stat.S_IMODE(entry.stat().st_mode) & 0o077:
                os.chmod(entry, PRIVATE_FILE)


__all__ = [
    "Pseudonym",
    "create_private_file",
    "pseudo",
    "pseudonym",
    "secure_var_dir",
    "set_pseudonym_key",
]
