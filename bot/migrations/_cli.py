"""``python -m bot db upgrade|current|check|revision``: the schema of the support and shop DBs."""

from __future__ import annotations

import argparse
from contextlib import contextmanager
from typing import Any, Iterator, List

from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from bot.migrations import (
    DATABASES,
    SchemaError,
    current,
    differences,
    head,
    new_revision,
    upgrade,
)
from bot.settings import Settings


def _targets(args: argparse.Namespace, settings: Settings) -> List[tuple[str, str]]:
    urls = {"support": settings.support_db_url, "shop": settings.shop_db_url}
    chosen = [args.database] if getattr(args, "database", "all") != "all" else list(DATABASES)
    return [(database, urls[database]) for database in chosen]


def _shown(url: str) -> str:
    """The URL without its password, for the terminal."""
    return str(make_url(url).render_as_string(hide_password=True))


@contextmanager
def _reaching(name: str, url: str) -> Iterator[None]:
    """A database that cannot be reached is one sentence, not a traceback."""
    try:
        yield
    except SQLAlchemyError as error:
        reason = " ".join(str(getattr(error, "orig", None) or error).split())[:200]
        raise SchemaError(
            f"cannot reach the {name} database at {_shown(url)} ({reason}); check "
            f"{name.upper()}_DB_URL and that the database server is running"
        ) from error


def upgrade_all(settings: Settings, database: str = "all") -> List[str]:
    """Upgrade the databases to the newest revision; one line per database (for the launcher)."""
    lines = []
    for name, url in _targets(argparse.Namespace(database=database), settings):
        with _reaching(name, url):
            before, after = upgrade(url, name)
        if before == after:
            lines.append(f"{name} database: at {after} (newest), nothing to do")
        elif before is None:
            lines.append(f"{name} database: created or adopted, now at {after} ({_shown(url)})")
        else:
            lines.append(f"{name} database: upgraded {before} -> {after}")
    return lines


def _upgrade(args: argparse.Namespace, settings: Settings) -> int:
    for line in upgrade_all(settings, args.database):
        print(line)
    return 0


def _current(args: argparse.Namespace, settings: Settings) -> int:
    behind = False
    for name, url in _targets(args, settings):
        with _reaching(name, url):
            revision, newest = current(url, name), head(name)
        state = "up to date" if revision == newest else "needs 'python -m bot db upgrade'"
        behind = behind or revision != newest
        print(f"{name} database: {revision or 'no version table'} (newest {newest}), {state}")
    return 1 if behind else 0


def _check(args: argparse.Namespace, settings: Settings) -> int:
    """Exit 1 when a database is behind or differs from what the models describe."""
    failed = False
    for name, url in _targets(args, settings):
        with _reaching(name, url):
            revision, newest = current(url, name), head(name)
        if revision != newest:
            print(f"{name} database: at {revision or 'no version table'}, newest is {newest}: "
                  "run 'python -m bot db upgrade'")
            failed = True
            continue
        with _reaching(name, url):
            found = differences(url, name)
        if found:
            failed = True
            print(f"{name} database: {len(found)} difference(s) between models and schema:")
            for line in found:
                print(f"  {line}")
        else:
            print(f"{name} database: at {revision}, matches the models")
    return 1 if failed else 0


def _revision(args: argparse.Namespace, settings: Settings) -> int:
    path = new_revision(args.database, args.message)
    print(f"Wrote {path}: review it (autogenerate misses renames and data moves), "
          "then run 'python -m bot db upgrade'")
    return 0


def add_commands(sub: Any) -> None:
    db = sub.add_parser("db", help="database schema: upgrade, current, check, revision")
    commands = db.add_subparsers(dest="db_command", required=True, metavar="DB_COMMAND")
    for name, handler, text in (
        ("upgrade", _upgrade, "migrate the support and shop databases to the newest revision"),
        ("current", _current, "show each database's revision (exit 1 if one is behind)"),
        ("check", _check, "exit 1 if a database is behind or differs from the models"),
    ):
        command = commands.add_parser(name, help=text)
        command.add_argument("--database", choices=("all", *DATABASES), default="all")
        command.set_defaults(handler=handler)
    revision = commands.add_parser(
        "revision", help="write a new migration with what the models changed (autogenerate)"
    )
    revision.add_argument("-m", "--message", required=True, help="what the migration does")
    revision.add_argument("--database", choices=DATABASES, default="support")
    revision.set_defaults(handler=_revision)
