"""The migrations build exactly the tables the models describe (SQLite and PostgreSQL), and a
database made before migrations existed is adopted without losing a row."""

from __future__ import annotations

import threading
from datetime import datetime
from pathlib import Path
from typing import List

import pytest
from sqlalchemy import (
    MetaData,
    String,
    Table,
    UniqueConstraint,
    create_engine,
    inspect,
    text,
)
from sqlalchemy.engine import Engine
from sqlalchemy.pool import NullPool

from bot.migrations import (
    DATABASES,
    SHOP,
    SUPPORT,
    VERSION_TABLES,
    current,
    differences,
    ensure_schema,
    head,
    new_revision,
    target_metadata,
    upgrade,
)
from tests._postgres import Databases

NOW = datetime(2026, 11, 30, 10, 0)


def _engine(url: str) -> Engine:
    return create_engine(url, future=True, poolclass=NullPool)


@pytest.mark.parametrize("database", DATABASES)
def test_a_fresh_database_upgraded_to_head_matches_the_models(
    databases: Databases, database: str
) -> None:
    url = databases.new(database)
    assert upgrade(url, database) == (None, head(database))
    assert differences(url, database) == []
    assert current(url, database) == head(database)
    # a second upgrade has nothing to do
    assert upgrade(url, database) == (head(database), head(database))


def test_a_database_made_by_create_all_before_migrations_is_adopted(
    databases: Databases,
) -> None:
    """Exactly what every process did before: ``SupportBase.metadata.create_all``."""
    url = databases.new("support")
    engine = _engine(url)
    target_metadata(SUPPORT).create_all(engine)
    with engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO handoffs (sender_id, channel, reason, created_at, status, "
            "outside_service_hours) VALUES ('tg-1', 'telegram', 'complaint', :now, 'open', 0)"
        ), {"now": NOW})
        connection.execute(text(
            "INSERT INTO channel_inbound (channel, external_id, received_at) "
            "VALUES ('telegram', '4711', :now)"
        ), {"now": NOW})
    assert current(url, SUPPORT) is None
    before, after = upgrade(url, SUPPORT)
    assert (before, after) == (None, head(SUPPORT))
    assert differences(url, SUPPORT) == []
    with engine.connect() as connection:
        assert connection.execute(text("SELECT sender_id FROM handoffs")).scalars().all() \
            == ["tg-1"]
        assert connection.execute(text("SELECT external_id FROM channel_inbound")).scalar_one() \
            == "4711"
    engine.dispose()


def test_an_inbox_from_before_roles_gets_its_columns_and_keeps_its_agents(
    databases: Databases,
) -> None:
    """What bot/inbox/_migrate.py did in place: role (admin where is_admin) and
    must_change_password; only some tables existed (the inbox had not run yet)."""
    url = databases.new("support")
    engine = _engine(url)
    before_roles = MetaData()
    agents = target_metadata(SUPPORT).tables["inbox_agents"]
    Table("inbox_agents", before_roles,
          *(column.copy() for column in agents.columns
            if column.name not in ("role", "must_change_password")),
          UniqueConstraint("name"))
    before_roles.create_all(engine)
    with engine.begin() as connection:
        for name, admin in (("anna", True), ("ben", False)):
            connection.execute(text(
                "INSERT INTO inbox_agents (name, password_hash, is_admin, active, created_at) "
                "VALUES (:name, 'hash', :admin, :active, :now)"
            ), {"name": name, "admin": admin, "active": True, "now": NOW})
    upgrade(url, SUPPORT)
    assert differences(url, SUPPORT) == []
    with engine.connect() as connection:
        rows = connection.execute(text(
            "SELECT name, role, must_change_password, password_hash FROM inbox_agents "
            "ORDER BY name"
        )).all()
    assert [(name, role, bool(must), hashed) for name, role, must, hashed in rows] == [
        ("anna", "admin", False, "hash"), ("ben", "agent", False, "hash"),
    ]
    assert "handoffs" in inspect(engine).get_table_names()  # the missing tables were created
    engine.dispose()


def test_processes_starting_at_once_migrate_one_after_the_other(databases: Databases) -> None:
    url = databases.new("support")
    barrier = threading.Barrier(4)
    errors: List[BaseException] = []

    def start() -> None:
        try:
            barrier.wait()
            ensure_schema(url, SUPPORT)
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=start) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert errors == []
    assert differences(url, SUPPORT) == []
    engine = _engine(url)
    with engine.connect() as connection:
        versions = connection.execute(
            text("SELECT version_num FROM alembic_version_support")
        ).scalars().all()
    engine.dispose()
    assert versions == [head(SUPPORT)]
    assert VERSION_TABLES[SUPPORT] == "alembic_version_support"


def test_support_and_shop_can_share_one_database(databases: Databases) -> None:
    url = databases.new("shared")
    for database in (SUPPORT, SHOP):
        upgrade(url, database)
    for database in (SUPPORT, SHOP):
        assert differences(url, database) == []
        assert current(url, database) == head(database)


def test_a_generated_migration_that_rebuilds_a_table_keeps_its_rows_and_children(
    databases: Databases, tmp_path: Path
) -> None:
    """What a developer does for a schema change: change a model, ``db revision``, upgrade.
    Widening ``handoffs.channel`` makes SQLite copy the whole table (batch mode); the inbox rows
    hanging off it with ON DELETE CASCADE must survive that on both databases."""
    url = databases.new("support")
    upgrade(url, SUPPORT)
    engine = _engine(url)
    with engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO handoffs (id, sender_id, channel, reason, created_at, status, "
            "outside_service_hours) VALUES (7, 'tg-7', 'telegram', 'complaint', :now, 'open', 0)"
        ), {"now": NOW})
        connection.execute(text(
            "INSERT INTO inbox_agents (id, name, password_hash, is_admin, active, created_at) "
            "VALUES (1, 'anna', 'x', :no, :yes, :now)"
        ), {"no": False, "yes": True, "now": NOW})
        connection.execute(text(
            "INSERT INTO inbox_notes (handoff_id, agent_id, text, created_at) "
            "VALUES (7, 1, 'Kundin ruft morgen an', :now)"
        ), {"now": NOW})
    channel = target_metadata(SUPPORT).tables["handoffs"].c.channel
    versions = tmp_path / "versions"
    versions.mkdir()
    try:
        channel.type = String(80)
        script = new_revision(SUPPORT, "wider handoff channel", directory=versions)
        assert "type_=sa.String(length=80)" in script.read_text()
        newest = head(SUPPORT)
        assert upgrade(url, SUPPORT, extra_versions=versions) == (
            newest, f"{int(newest) + 1:04d}"
        )
        assert differences(url, SUPPORT) == []
    finally:
        channel.type = String(64)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT channel FROM handoffs")).scalars().all() \
            == ["telegram"]
        assert connection.execute(text("SELECT text FROM inbox_notes")).scalars().all() \
            == ["Kundin ruft morgen an"]
    engine.dispose()
