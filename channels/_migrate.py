"""Bring an existing support database up to the current channel tables.

``create_all`` never changes an existing table; columns added later are added here
(idempotent, safe when two processes start at once), in the style of ``bot/inbox/_migrate.py``.
"""

from __future__ import annotations

from typing import List

from sqlalchemy import inspect
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

# (table, column, DDL to add it)
_COLUMNS = (
    (
        "channel_deliveries",
        "provider_detail",
        "ALTER TABLE channel_deliveries ADD COLUMN provider_detail TEXT",
    ),
)


def _missing(engine: Engine) -> List[str]:
    inspector = inspect(engine)
    tables = set(inspector.get_table_names())
    missing = []
    for table, column, _ in _COLUMNS:
        if table not in tables:
            continue
        if column not in {c["name"] for c in inspector.get_columns(table)}:
            missing.append(f"{table}.{column}")
    return missing


def upgrade_channel_schema(engine: Engine) -> List[str]:
    """Add the channel columns an older database lacks; returns ``table.column`` of those added."""
    missing = _missing(engine)
    if not missing:
        return []
    try:
        with engine.begin() as connection:
            for table, column, ddl in _COLUMNS:
                if f"{table}.{column}" in missing:
                    connection.exec_driver_sql(ddl)
    except DBAPIError:
        # Another process may have added them in the meantime; only a real failure stays.
        if _missing(engine):
            raise
        return []
    return missing


__all__ = ["upgrade_channel_schema"]
