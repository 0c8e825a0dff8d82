"""Bring an existing support database up to the current inbox tables.

The tables are created with ``create_all``, which never changes an existing table; columns
added later are added here (idempotent, safe when two processes start at once).
"""

from __future__ import annotations

from typing import List

from sqlalchemy import inspect
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

# (column, DDL to add it, statements that fill it from older data)
_AGENT_COLUMNS = (
    (
        "role",
        "ALTER TABLE inbox_agents ADD COLUMN role VARCHAR(16) NOT NULL DEFAULT 'agent'",
        ("UPDATE inbox_agents SET role = 'admin' WHERE is_admin",),
    ),
    (
        "must_change_password",
        "ALTER TABLE inbox_agents ADD COLUMN must_change_password BOOLEAN NOT NULL "
        "DEFAULT FALSE",
        (),
    ),
)


def _missing(engine: Engine) -> List[str]:
    inspector = inspect(engine)
    if "inbox_agents" not in inspector.get_table_names():
        return []
    present = {column["name"] for column in inspector.get_columns("inbox_agents")}
    return [name for name, _, _ in _AGENT_COLUMNS if name not in present]


def upgrade_schema(engine: Engine) -> List[str]:
    """Add the inbox columns an older database lacks; returns the names of those added."""
    missing = _missing(engine)
    if not missing:
        return []
    try:
        with engine.begin() as connection:
            for name, ddl, fills in _AGENT_COLUMNS:
                if name in missing:
                    connection.exec_driver_sql(ddl)
                    for statement in fills:
                        connection.exec_driver_sql(statement)
    except DBAPIError:
        # Another process may have added them in the meantime; only a real failure stays.
        if _missing(engine):
            raise
        return []
    return missing
