"""Schema migrations (Alembic) of the support and the shop database, SQLite and PostgreSQL.

The revisions live in this package (``bot/migrations/<database>/versions``) and Alembic is set up
in code, so no ``alembic.ini`` is needed. Every process that uses a database calls
:func:`ensure_schema` when it opens it (cheap when the database is up to date: one query);
``python -m bot db upgrade`` and the launcher do the same for both databases up front.

An upgrade runs in one transaction that first takes a lock (PostgreSQL: an advisory lock;
SQLite: ``BEGIN IMMEDIATE``, the write lock), so processes starting at once migrate one after
the other and the later ones find the work done. On SQLite the check and the upgrade also hold
an exclusive lock on a file beside the database (``<file>.migrate.lock``): SQLite's own locks
answer "database is locked" instead of waiting in some moments (a new file switching to WAL,
the last connection checkpointing), so migrators of one file never meet inside SQLite.

A database made before migrations existed (tables, no version table) is adopted by the first
revision: it creates only what is missing and adds the columns older code added in place
(see ``support/versions/v0001_initial.py``).
"""

from __future__ import annotations

import fcntl
import logging
import os
import subprocess
import sys
import tempfile
import zlib
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, Iterator, List, Optional, Tuple, Union

from sqlalchemy import MetaData, create_engine, event, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import NullPool

from bot.errors import BotError

if TYPE_CHECKING:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

SUPPORT = "support"
SHOP = "shop"
DATABASES = (SUPPORT, SHOP)
VERSION_TABLES: Dict[str, str] = {
    SUPPORT: "alembic_version_support",
    SHOP: "alembic_version_shop",
}
# Rasa's tracker store / event broker table, should someone point several URLs at one database.
FOREIGN_TABLES = ("events",)
HERE = Path(__file__).resolve().parent
logger = logging.getLogger(__name__)


class SchemaError(BotError):
    """A database's schema cannot be brought to the version this code needs."""


def _url(target: Union[str, Engine]) -> str:
    if isinstance(target, Engine):
        return str(target.url.render_as_string(hide_password=False))
    return target


def _check_database(database: str) -> None:
    if database not in DATABASES:
        raise SchemaError(f"unknown database {database!r} (known: {', '.join(DATABASES)})")


@cache
def script_directory(database: str) -> "ScriptDirectory":
    from alembic.script import ScriptDirectory

    _check_database(database)
    return ScriptDirectory(str(HERE / database))


def head(database: str) -> str:
    """The newest revision of ``database`` this code knows."""
    heads = script_directory(database).get_heads()
    if len(heads) != 1:
        raise SchemaError(f"the {database} migrations have {len(heads)} heads; merge them")
    return str(heads[0])


def target_metadata(database: str) -> MetaData:
    """The tables the code of ``database`` expects (imports every module that defines one)."""
    _check_database(database)
    if database == SHOP:
        from bot.shop import ShopBase

        return ShopBase.metadata
    from bot.answers import _store as _answers  # noqa: F401 - faq_answer_edits
    from bot.answers import feedback as _ratings  # noqa: F401 - answer_ratings
    from bot.inbox import _models as _inbox  # noqa: F401 - inbox_* tables
    from bot.insights import _models as _insights  # noqa: F401 - insight_*
    from bot.models import SupportBase
    from bot.order_guard import OrderLookupGuard  # noqa: F401 - order_lookup_guards
    from bot.trainer import _labels  # noqa: F401 - trainer_labels
    from channels import _store as _channels  # noqa: F401 - channel_* tables

    return SupportBase.metadata


def _ignored_tables(database: str) -> Tuple[str, ...]:
    others = [name for other in DATABASES if other != database
              for name in target_metadata(other).tables]
    return (*FOREIGN_TABLES, *others, *VERSION_TABLES.values())


def _sqlite_file(url: str) -> Optional[Path]:
    """The file of a SQLite URL; None for other databases and in-memory SQLite."""
    if url.startswith("sqlite:///") and url[len("sqlite:///"):] not in ("", ":memory:"):
        return Path(url[len("sqlite:///"):].split("?", 1)[0])
    return None


def _reader(url: str) -> Engine:
    """A plain engine for reading the version (a new SQLite file gets its folder)."""
    path = _sqlite_file(url)
    if path is None:
        return create_engine(url, future=True, poolclass=NullPool)
    path.parent.mkdir(parents=True, exist_ok=True)
    return create_engine(url, future=True, poolclass=NullPool, connect_args={"timeout": 30})


@contextmanager
def _migrating(url: str) -> Iterator[None]:
    """SQLite file: hold ``<file>.migrate.lock`` exclusively (threads and processes alike)."""
    path = _sqlite_file(url)
    if path is None:
        yield
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(f"{path}.migrate.lock", "a+b") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock.fileno(), fcntl.LOCK_UN)


def migration_engine(url: str) -> Engine:
    """An engine whose transactions can hold DDL and the migration lock.

    SQLite: the driver's own transaction handling is switched off and every transaction starts
    with ``BEGIN IMMEDIATE`` (the write lock, DDL included, rolled back whole on error); foreign
    keys stay off while migrating, so batch mode's copy-and-move of a table cascades nothing.
    """
    if not url.startswith("sqlite"):
        return create_engine(url, future=True, poolclass=NullPool)
    _reader(url).dispose()  # the folder of a new file
    engine = create_engine(
        url, future=True, poolclass=NullPool,
        connect_args={"check_same_thread": False, "timeout": 30, "isolation_level": None},
    )

    @event.listens_for(engine, "connect")
    def _wal(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def _lock(connection: Connection, database: str) -> None:
    """PostgreSQL: one migrator per database at a time (released when the transaction ends)."""
    if connection.dialect.name == "postgresql":
        key = zlib.crc32(f"bergpfad-bot-migrations-{database}".encode())
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


def alembic_config(
    database: str, connection: Connection, metadata: Optional[MetaData] = None,
    extra_versions: Optional[Path] = None,
) -> "Config":
    """Alembic's configuration in code; ``extra_versions``: a folder of revisions beside the
    package's (a revision being tried out before it is moved into the package)."""
    from alembic.config import Config

    _check_database(database)
    config = Config()
    config.set_main_option("script_location", str(HERE / database))
    if extra_versions is not None:
        config.set_main_option("path_separator", "os")
        config.set_main_option("version_locations", os.pathsep.join(
            (str(HERE / database / "versions"), str(extra_versions))
        ))
    config.attributes["connection"] = connection
    config.attributes["database"] = database
    config.attributes["metadata"] = metadata
    config.attributes["ignored_tables"] = _ignored_tables(database) if metadata else ()
    return config


def _current(connection: Connection, database: str) -> Optional[str]:
    from alembic.runtime.migration import MigrationContext

    context = MigrationContext.configure(
        connection, opts={"version_table": VERSION_TABLES[database]}
    )
    heads = context.get_current_heads()
    return str(heads[0]) if heads else None


def current(target: Union[str, Engine], database: str) -> Optional[str]:
    """The revision the database is at; None when it has no version table (new or older)."""
    _check_database(database)
    engine = _reader(_url(target))
    try:
        with engine.connect() as connection:
            return _current(connection, database)
    finally:
        engine.dispose()


def upgrade(
    target: Union[str, Engine], database: str, revision: str = "head",
    extra_versions: Optional[Path] = None,
) -> Tuple[Optional[str], Optional[str]]:
    """Migrate ``database`` to ``revision``; returns (revision before, revision after)."""
    _check_database(database)
    url = _url(target)
    with _migrating(url):
        return _upgrade(url, database, revision, extra_versions)


def _upgrade(
    url: str, database: str, revision: str, extra_versions: Optional[Path],
) -> Tuple[Optional[str], Optional[str]]:
    from alembic import command
    from alembic.util import CommandError

    # Alembic narrates every plugin and context at INFO; our own line says what was migrated.
    logging.getLogger("alembic").setLevel(logging.WARNING)
    engine = migration_engine(url)
    try:
        with engine.begin() as connection:
            _lock(connection, database)
            before = _current(connection, database)
            try:
                command.upgrade(
                    alembic_config(database, connection, extra_versions=extra_versions), revision
                )
            except CommandError as error:
                raise SchemaError(
                    f"cannot upgrade the {database} database from {before or 'no version'} "
                    f"to {revision}: {error} (was it migrated by newer code?)"
                ) from error
            after = _current(connection, database)
    finally:
        engine.dispose()
    if before != after:
        logger.info("%s database migrated from %s to %s", database, before or "no version",
                    after)
    return before, after


def ensure_schema(target: Union[str, Engine], database: str = SUPPORT) -> None:
    """Bring ``database`` to the newest revision unless it is there already (one query then)."""
    _check_database(database)
    url = _url(target)
    with _migrating(url):
        if current(url, database) == head(database):
            return
        _upgrade(url, database, "head", None)


def differences(target: Union[str, Engine], database: str) -> List[str]:
    """What autogenerate would change to make the database match the models (empty = none)."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    metadata = target_metadata(database)
    ignored = set(_ignored_tables(database))

    def include_name(name: Optional[str], type_: str, _parents: Any) -> bool:
        return not (type_ == "table" and name in ignored)

    engine = _reader(_url(target))
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={
                "version_table": VERSION_TABLES[database],
                "compare_type": True,
                "include_name": include_name,
                "target_metadata": metadata,
            })
            return [repr(diff) for diff in compare_metadata(context, metadata)]
    finally:
        engine.dispose()


def new_revision(database: str, message: str, directory: Optional[Path] = None) -> Path:
    """Write a revision with what the models add to the migrations (autogenerate), compared
    against a scratch SQLite database upgraded to the current head; returns its file.

    It goes to ``bot/migrations/<database>/versions`` (or ``directory``, for a dry run)."""
    from alembic import command

    _check_database(database)
    last = head(database)
    number = int(last) + 1 if last.isdigit() else None
    rev_id = f"{number:04d}" if number is not None else None
    with tempfile.TemporaryDirectory(prefix="bot-revision-") as scratch:
        url = f"sqlite:///{Path(scratch) / 'scratch.db'}"
        upgrade(url, database)
        engine = migration_engine(url)
        try:
            with engine.begin() as connection:
                config = alembic_config(
                    database, connection, target_metadata(database), extra_versions=directory
                )
                config.set_main_option("file_template", "v%%(rev)s_%%(slug)s")
                script = command.revision(
                    config, message=message, autogenerate=True, rev_id=rev_id,
                    version_path=str(directory) if directory is not None else None,
                )
        finally:
            engine.dispose()
    script_directory.cache_clear()
    if script is None or isinstance(script, list):
        raise SchemaError("alembic wrote no single revision")
    path = Path(script.path)
    _tidy(path)
    return path


def _tidy(path: Path) -> None:
    """Format a generated revision like the rest of the code (ruff), when ruff is installed."""
    config = HERE.parents[1] / "pyproject.toml"
    for args in (["format"], ["check", "--fix", "--quiet"]):
        subprocess.run(
            [sys.executable, "-m", "ruff", *args, "--config", str(config), str(path)],
            capture_output=True, check=False, timeout=120,
        )


__all__ = [
    "DATABASES",
    "SHOP",
    "SUPPORT",
    "VERSION_TABLES",
    "SchemaError",
    "current",
    "differences",
    "ensure_schema",
    "head",
    "new_revision",
    "target_metadata",
    "upgrade",
]
