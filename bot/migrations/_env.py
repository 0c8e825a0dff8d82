"""What both databases' ``env.py`` run: migrations on the connection :mod:`bot.migrations` hands
over (already in its transaction, holding the migration lock), never an ``alembic.ini``."""

from __future__ import annotations

from typing import Any, Optional

from bot.errors import BotError


def run_environment() -> None:
    from alembic import context

    config = context.config
    connection = config.attributes.get("connection")
    if context.is_offline_mode() or connection is None:
        raise BotError(
            "migrations run only through 'python -m bot db …' (no offline SQL, no alembic.ini)"
        )
    database: str = config.attributes["database"]
    metadata = config.attributes.get("metadata")
    ignored = set(config.attributes.get("ignored_tables", ()))

    def include_name(name: Optional[str], type_: str, _parents: Any) -> bool:
        # Tables of the other database kind or of Rasa, should they share one database.
        return not (type_ == "table" and name in ignored)

    from bot.migrations import VERSION_TABLES

    context.configure(
        connection=connection,
        target_metadata=metadata,
        version_table=VERSION_TABLES[database],
        render_as_batch=True,  # SQLite cannot ALTER most things: copy-and-move in batch mode
        compare_type=True,
        include_name=include_name,
    )
    with context.begin_transaction():
        context.run_migrations()
