"""Every place customer data is kept, and finding, exporting and deleting one customer in it.

Stores (see docs/privacy.md):

* Rasa's SQL tracker store: table ``events`` (``sender_id``, ``type_name``, ``timestamp``,
  ``intent_name``, ``action_name``, ``data``), ``TRACKER_DB_URL`` / ``var/tracker.db``;
* Rasa's SQL event broker: table ``events`` (``id``, ``sender_id``, ``data``), a second full
  copy, ``EVENT_BROKER_DB_URL`` / ``var/events.db``;
* the support database (``SUPPORT_DB_URL``): tables keyed by ``sender_id`` (handoffs, channel
  contacts, inbound dedupe rows, media, deliveries, numbered choices, 👍/👎 answer ratings),
  tables keyed by the
  customer's handoffs (inbox state, events, notes, replies, customer messages), and trainer
  labels (masked, without sender id; matched by the fingerprint of the customer's messages);
* our log files in ``var/`` (lines naming the customer, their pseudonym or their messages).

The shop database (orders) is a business record and is not touched.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any, Dict, Iterable, Iterator, List, Optional, Sequence, Set, Tuple

from sqlalchemy import Table, bindparam, delete, func, inspect, select, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.engine.url import make_url

from bot.database import make_engine
from bot.errors import BotError
from bot.privacy._logs import pseudonym
from bot.settings import Settings

TRACKER_STORE = "rasa_tracker.events"
EVENT_BROKER = "rasa_event_broker.events"
LOG_FILES = "log_lines"
TRAINER_LABELS = "trainer_labels"
# Support-DB tables with a ``sender_id`` column, and those hanging off a customer's handoffs.
SENDER_TABLES = (
    "channel_contacts",
    "channel_inbound",
    "channel_media",
    "channel_deliveries",
    "channel_choices",
    "handoffs",
    "answer_ratings",
)
HANDOFF_TABLES = (
    "inbox_handoff_state",
    "inbox_handoff_events",
    "inbox_notes",
    "inbox_replies",
    "inbox_customer_messages",
)
CHUNK = 200
REDACTED = "[entfernt: Daten eines gelöschten Kunden]"
_MIN_TEXT_NEEDLE = 8
_PHONE_NOISE = re.compile(r"[\s/().\-]")


class PrivacyError(BotError):
    """A data-protection request that cannot be carried out as asked."""


def support_tables() -> Dict[str, Table]:
    """The support DB's tables by name (imports the modules that define them)."""
    from bot.answers import feedback  # noqa: F401 - registers answer_ratings
    from bot.inbox import _models as inbox_models  # noqa: F401 - registers inbox tables
    from bot.models import SupportBase
    from bot.trainer import _labels  # noqa: F401 - registers trainer_labels
    from channels import _store  # noqa: F401 - registers the channel tables

    tables: Dict[str, Table] = dict(SupportBase.metadata.tables)
    return tables


def broker_url(settings: Settings) -> str:
    """Rasa's SQL event broker (:attr:`Settings.event_broker_url`)."""
    return settings.event_broker_url


@dataclass(frozen=True)
class Stores:
    """Where to look: database URLs and the folder with our log files."""

    tracker_url: str
    broker_url: str
    support_url: str
    log_dir: Optional[Path] = None

    @classmethod
    def from_settings(cls, settings: Settings) -> "Stores":
        return cls(
            tracker_url=settings.tracker_db_url,
            broker_url=broker_url(settings),
            support_url=settings.support_db_url,
            log_dir=settings.var_dir,
        )


# -- finding a customer ------------------------------------------------------------------------


def phone_number(raw: str) -> Optional[str]:
    """E.164 form (``+4917012345678``) of a phone number; national ``0…`` numbers are German.
    None if ``raw`` is not a phone number (a Telegram chat id has no ``+``/``0`` prefix)."""
    value = raw.strip()
    if value.lower().startswith("whatsapp:"):
        value = value[len("whatsapp:") :]
    value = _PHONE_NOISE.sub("", value)
    if value.startswith("+"):
        digits = value[1:]
    elif value.startswith("00"):
        digits = value[2:]
    elif value.startswith("0"):
        digits = "49" + value[1:]
    else:
        return None
    if not digits.isdigit() or not 7 <= len(digits) <= 15 or digits.startswith("0"):
        return None
    return "+" + digits


def sender_ids_for(query: str) -> List[str]:
    """The sender ids a request names: the id exactly as given and, for a phone number
    (``+49 170 …``, ``0170 …``, ``0049…``, ``whatsapp:+49…``), exactly ``whatsapp:+49170…``.
    No prefix or partial matching: ``+49170`` never matches ``whatsapp:+491701``."""
    value = query.strip()
    if not value or len(value) > 255 or any(ch in value for ch in "\r\n\t\x00"):
        raise PrivacyError(
            "Bitte eine Kundenkennung oder Telefonnummer angeben (max. 255 Zeichen)."
        )
    ids = [value]
    number = phone_number(value)
    if number is not None:
        ids.append(f"whatsapp:{number}")
    return list(dict.fromkeys(ids))


# -- database helpers -------------------------------------------------------------------------


def open_engine(url: str) -> Optional[Engine]:
    """An engine, or None for a SQLite file that does not exist (nothing stored there)."""
    parsed = make_url(url)
    if parsed.drivername.startswith("sqlite"):
        database = parsed.database or ""
        if database in ("", ":memory:") or not Path(database).is_file():
            return None
    return make_engine(url)


def has_table(connection: Connection, table: str) -> bool:
    return bool(inspect(connection).has_table(table))


def _chunks(values: Sequence[Any]) -> Iterator[List[Any]]:
    for start in range(0, len(values), CHUNK):
        yield list(values[start : start + CHUNK])


def _plain(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value


def _maybe_json(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in "{[":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _row(mapping: Any) -> Dict[str, Any]:
    return {key: _maybe_json(_plain(value)) for key, value in dict(mapping).items()}


_RASA_EVENTS = {
    TRACKER_STORE: "SELECT id, sender_id, type_name, timestamp, intent_name, action_name, data "
    "FROM events WHERE sender_id IN :ids ORDER BY id",
    EVENT_BROKER: "SELECT id, sender_id, data FROM events WHERE sender_id IN :ids ORDER BY id",
}


def _rasa_rows(url: str, store: str, sender_ids: Sequence[str]) -> List[Dict[str, Any]]:
    engine = open_engine(url)
    if engine is None:
        return []
    try:
        with engine.connect() as connection:
            if not has_table(connection, "events"):
                return []
            query = text(_RASA_EVENTS[store]).bindparams(bindparam("ids", expanding=True))
            rows = []
            for chunk in _chunks(sender_ids):
                rows += [_row(r._mapping) for r in connection.execute(query, {"ids": chunk})]
            return rows
    finally:
        engine.dispose()


def _rasa_delete(url: str, sender_ids: Sequence[str], dry_run: bool) -> int:
    engine = open_engine(url)
    if engine is None:
        return 0
    try:
        with engine.begin() as connection:
            if not has_table(connection, "events"):
                return 0
            verb = "SELECT COUNT(*)" if dry_run else "DELETE"
            query = text(f"{verb} FROM events WHERE sender_id IN :ids").bindparams(
                bindparam("ids", expanding=True)
            )
            count = 0
            for chunk in _chunks(sender_ids):
                result = connection.execute(query, {"ids": chunk})
                count += int(result.scalar_one() if dry_run else result.rowcount or 0)
            return count
    finally:
        engine.dispose()


def _event_texts(rows: Iterable[Dict[str, Any]]) -> List[str]:
    """The customer's own message texts in Rasa event rows."""
    texts = []
    for row in rows:
        data = row.get("data")
        if isinstance(data, dict) and data.get("event") == "user" and data.get("text"):
            texts.append(str(data["text"]))
    return texts


def label_fingerprint(message: str) -> str:
    """The trainer's fingerprint of a message (masked and normalised, as the review queue)."""
    from bot.trainer._masking import mask_pii
    from bot.trainer._similar import normalize

    return hashlib.sha256(normalize(mask_pii(message)).encode()).hexdigest()


# -- the support database ---------------------------------------------------------------------


@dataclass
class SupportRows:
    tables: Dict[str, List[Dict[str, Any]]] = field(default_factory=dict)

    def texts(self) -> List[str]:
        found = []
        for table, column in (
            ("handoffs", "last_message"),
            ("inbox_customer_messages", "text"),
            ("channel_media", "caption"),
        ):
            found += [str(r[column]) for r in self.tables.get(table, []) if r.get(column)]
        return found


def _handoff_ids(connection: Connection, handoffs: Table, sender_ids: Sequence[str]) -> List[int]:
    ids: List[int] = []
    for chunk in _chunks(sender_ids):
        ids += [
            int(i)
            for i in connection.execute(
                select(handoffs.c.id).where(handoffs.c.sender_id.in_(chunk))
            ).scalars()
        ]
    return ids


def _support_selection(
    connection: Connection, sender_ids: Sequence[str], fingerprints: Set[str]
) -> Iterator[Tuple[str, Table, Any, List[Any]]]:
    """(table name, table, key column, key values) of everything about these senders."""
    tables = support_tables()
    present = {name for name in tables if has_table(connection, name)}
    handoff_ids = (
        _handoff_ids(connection, tables["handoffs"], sender_ids) if "handoffs" in present else []
    )
    for name in HANDOFF_TABLES:
        if name in present:
            yield name, tables[name], tables[name].c.handoff_id, handoff_ids
    if TRAINER_LABELS in present:
        table = tables[TRAINER_LABELS]
        yield TRAINER_LABELS, table, table.c.fingerprint, sorted(fingerprints)
    for name in SENDER_TABLES:
        if name in present:
            yield name, tables[name], tables[name].c.sender_id, list(sender_ids)


def _support_read(url: str, sender_ids: Sequence[str], fingerprints: Set[str]) -> SupportRows:
    result = SupportRows()
    engine = open_engine(url)
    if engine is None:
        return result
    try:
        with engine.connect() as connection:
            for name, table, key, values in _support_selection(
                connection, sender_ids, fingerprints
            ):
                rows: List[Dict[str, Any]] = []
                for chunk in _chunks(values):
                    query = select(table).where(key.in_(chunk))
                    rows += [_row(r._mapping) for r in connection.execute(query)]
                result.tables[name] = rows
    finally:
        engine.dispose()
    return result


def _support_delete(
    url: str, sender_ids: Sequence[str], fingerprints: Set[str], dry_run: bool
) -> Dict[str, int]:
    counts: Dict[str, int] = {}
    engine = open_engine(url)
    if engine is None:
        return counts
    try:
        with engine.begin() as connection:  # one transaction: all or nothing
            selection = list(_support_selection(connection, sender_ids, fingerprints))
            for name, table, key, values in selection:
                count = 0
                for chunk in _chunks(values):
                    if dry_run:
                        count += int(
                            connection.execute(
                                select(func.count()).select_from(table).where(key.in_(chunk))
                            ).scalar_one()
                        )
                    else:
                        count += int(
                            connection.execute(delete(table).where(key.in_(chunk))).rowcount or 0
                        )
                counts[f"support.{name}"] = count
    finally:
        engine.dispose()
    return counts


# -- log files --------------------------------------------------------------------------------


def log_files(log_dir: Optional[Path]) -> List[Path]:
    if log_dir is None or not log_dir.is_dir():
        return []
    return sorted(
        path
        for path in log_dir.iterdir()
        if path.is_file() and not path.is_symlink() and ".log" in path.name
    )


def log_needles(sender_ids: Sequence[str], texts: Sequence[str]) -> List[str]:
    """What marks a log line as this customer's: ids, phone numbers, pseudonyms, messages."""
    needles: Set[str] = set()
    for sender in sender_ids:
        needles.update({sender, pseudonym(sender)})
        number = phone_number(sender) if sender.startswith(("whatsapp:", "+", "0")) else None
        if number:
            needles.update({number, number[1:]})
    for message in texts:
        for line in message.splitlines():
            if len(line.strip()) >= _MIN_TEXT_NEEDLE:
                needles.add(line.strip())
    return sorted(n for n in needles if n)


def _pattern(needles: Sequence[str]) -> Optional["re.Pattern[str]"]:
    """One regex for all needles; word boundaries keep ``+491701234567`` from matching inside
    ``+4917012345678`` (another customer's number)."""
    parts = []
    for needle in sorted(set(needles), key=len, reverse=True):
        if not needle:
            continue
        before = r"(?<!\w)" if re.match(r"\w", needle[0]) else ""
        after = r"(?!\w)" if re.match(r"\w", needle[-1]) else ""
        parts.append(before + re.escape(needle) + after)
    return re.compile("|".join(parts)) if parts else None


def _scrub_file(path: Path, pattern: "re.Pattern[str]", dry_run: bool) -> int:
    """Replace matching lines in place (same file: a running process keeps appending to it)."""
    with path.open("r+", encoding="utf-8", errors="replace", newline="") as handle:
        lines = handle.readlines()
        count = 0
        for index, line in enumerate(lines):
            if pattern.search(line):
                lines[index] = REDACTED + ("\n" if line.endswith("\n") else "")
                count += 1
        if count and not dry_run:
            handle.seek(0)
            handle.write("".join(lines))
            handle.truncate()
    return count


def scrub_logs(log_dir: Optional[Path], needles: Sequence[str], dry_run: bool = False) -> int:
    pattern = _pattern(needles)
    if pattern is None:
        return 0
    return sum(_scrub_file(path, pattern, dry_run) for path in log_files(log_dir))


def log_lines(log_dir: Optional[Path], needles: Sequence[str]) -> List[Dict[str, Any]]:
    pattern = _pattern(needles)
    found: List[Dict[str, Any]] = []
    if pattern is None:
        return found
    for path in log_files(log_dir):
        with path.open(encoding="utf-8", errors="replace") as handle:
            for number, line in enumerate(handle, start=1):
                if pattern.search(line):
                    found.append({"file": path.name, "line": number, "text": line.rstrip("\n")})
    return found


# -- export and delete ------------------------------------------------------------------------


@dataclass
class CustomerData:
    """Everything stored about the sender ids of one request."""

    query: str
    sender_ids: List[str]
    stores: Dict[str, List[Dict[str, Any]]]
    generated_at: datetime

    @property
    def found(self) -> bool:
        return any(self.stores.values())

    @property
    def matched_ids(self) -> List[str]:
        """The searched sender ids that really have data (a phone query names two)."""
        found = {
            str(row["sender_id"])
            for rows in self.stores.values()
            for row in rows
            if row.get("sender_id") in self.sender_ids
        }
        return [sender for sender in self.sender_ids if sender in found]

    def counts(self) -> Dict[str, int]:
        return {name: len(rows) for name, rows in self.stores.items()}

    def as_json(self) -> Dict[str, Any]:
        return {
            "format": "paula-customer-export/1",
            "generated_at": self.generated_at.isoformat() + "Z",
            "query": self.query,
            "sender_ids": self.matched_ids,
            "searched_sender_ids": self.sender_ids,
            "counts": self.counts(),
            "stores": self.stores,
        }


def _customer_texts(
    stores: Stores, sender_ids: Sequence[str]
) -> Tuple[List[str], Dict[str, List[Dict[str, Any]]]]:
    rasa = {
        TRACKER_STORE: _rasa_rows(stores.tracker_url, TRACKER_STORE, sender_ids),
        EVENT_BROKER: _rasa_rows(stores.broker_url, EVENT_BROKER, sender_ids),
    }
    texts = _event_texts(rasa[TRACKER_STORE]) + _event_texts(rasa[EVENT_BROKER])
    return texts, rasa


def collect(stores: Stores, query: str, now: Optional[datetime] = None) -> CustomerData:
    """Art. 15: everything about the customer ``query`` names, from every store."""
    sender_ids = sender_ids_for(query)
    texts, rasa = _customer_texts(stores, sender_ids)
    support = _support_read(stores.support_url, sender_ids, set())
    texts += support.texts()
    fingerprints = {label_fingerprint(t) for t in texts}
    labels = _support_read(stores.support_url, [], fingerprints).tables.get(TRAINER_LABELS, [])
    tables = {
        f"support.{name}": rows for name, rows in support.tables.items() if name != TRAINER_LABELS
    }
    tables[f"support.{TRAINER_LABELS}"] = labels
    data: Dict[str, List[Dict[str, Any]]] = {**rasa, **tables}
    data[LOG_FILES] = log_lines(stores.log_dir, log_needles(sender_ids, texts))
    return CustomerData(
        query=query,
        sender_ids=sender_ids,
        stores=data,
        generated_at=now or datetime.now(timezone.utc).replace(tzinfo=None),
    )


def delete_senders(
    stores: Stores, sender_ids: Sequence[str], dry_run: bool = False
) -> Dict[str, int]:
    """Art. 17: delete these exact sender ids everywhere; counts per store. Idempotent."""
    sender_ids = list(dict.fromkeys(sender_ids))
    if not sender_ids:
        return {}
    texts, _ = _customer_texts(stores, sender_ids)
    texts += _support_read(stores.support_url, sender_ids, set()).texts()
    fingerprints = {label_fingerprint(t) for t in texts}
    counts = {
        TRACKER_STORE: _rasa_delete(stores.tracker_url, sender_ids, dry_run),
        EVENT_BROKER: _rasa_delete(stores.broker_url, sender_ids, dry_run),
    }
    counts.update(_support_delete(stores.support_url, sender_ids, fingerprints, dry_run))
    counts[LOG_FILES] = scrub_logs(stores.log_dir, log_needles(sender_ids, texts), dry_run)
    return counts


def delete_customer(stores: Stores, query: str, dry_run: bool = False) -> Dict[str, int]:
    return delete_senders(stores, sender_ids_for(query), dry_run)


__all__ = [
    "CustomerData",
    "PrivacyError",
    "Stores",
    "collect",
    "delete_customer",
    "delete_senders",
    "phone_number",
    "sender_ids_for",
]
