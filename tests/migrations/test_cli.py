"""``python -m bot db upgrade|current|check|revision`` as an operator runs them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

from sqlalchemy import Column, Integer, String, Table, create_engine, text
from sqlalchemy.pool import NullPool

from bot import cli
from bot.migrations import SHOP, SUPPORT, head, new_revision, target_metadata
from bot.settings import PROJECT_ROOT
from tests._postgres import Databases


def test_upgrade_adopts_an_old_database_and_check_finds_drift(
    databases: Databases, tmp_path: Path, monkeypatch: Any, capsys: Any
) -> None:
    support, shop = databases.new("support"), databases.new("shop")
    monkeypatch.setenv("BOT_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("SUPPORT_DB_URL", support)
    monkeypatch.setenv("SHOP_DB_URL", shop)
    engine = create_engine(support, future=True, poolclass=NullPool)
    target_metadata(SUPPORT).create_all(engine)  # what the code before migrations did
    capsys.readouterr()

    assert cli.main(["db", "current"]) == 1
    out = capsys.readouterr().out
    newest = head(SUPPORT)
    assert (f"support database: no version table (newest {newest}), "
            "needs 'python -m bot db upgrade'") in out
    assert cli.main(["db", "upgrade"]) == 0
    out = capsys.readouterr().out
    assert f"support database: created or adopted, now at {head(SUPPORT)}" in out
    assert f"shop database: created or adopted, now at {head(SHOP)}" in out
    assert cli.main(["db", "upgrade"]) == 0
    assert f"support database: at {newest} (newest), nothing to do" in capsys.readouterr().out
    assert cli.main(["db", "check"]) == 0
    assert f"support database: at {head(SUPPORT)}, matches the models" in capsys.readouterr().out

    with engine.begin() as connection:  # someone changed the schema by hand
        connection.execute(text("ALTER TABLE handoffs DROP COLUMN order_number"))
    engine.dispose()
    assert cli.main(["db", "check", "--database", "support"]) == 1
    out = capsys.readouterr().out
    assert "support database: 1 difference(s) between models and schema" in out
    assert "order_number" in out


def test_revision_writes_what_the_models_added(tmp_path: Path) -> None:
    metadata = target_metadata(SUPPORT)
    probe = Table("zz_probe", metadata, Column("id", Integer, primary_key=True),
                  Column("note", String(40), nullable=True))
    try:
        path = new_revision(SUPPORT, "add probe table", directory=tmp_path)
    finally:
        metadata.remove(probe)
    following = f"{int(head(SUPPORT)) + 1:04d}"
    assert path.parent == tmp_path and path.name == f"v{following}_add_probe_table.py"
    script = path.read_text()
    assert f'down_revision = "{head(SUPPORT)}"' in script
    assert 'op.create_table(\n        "zz_probe",' in script
    assert 'sa.Column("note", sa.String(length=40), nullable=True)' in script
    # ready to commit: the project's linter accepts it as written
    lint = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--config", str(PROJECT_ROOT / "pyproject.toml"),
         str(path)], capture_output=True, text=True, timeout=120,
    )
    assert lint.returncode == 0, lint.stdout


def test_seed_that_make_run_does_first_migrates_both_databases(
    tmp_path: Path, monkeypatch: Any, capsys: Any
) -> None:
    monkeypatch.setenv("BOT_VAR_DIR", str(tmp_path))
    monkeypatch.delenv("SUPPORT_DB_URL", raising=False)
    monkeypatch.delenv("SHOP_DB_URL", raising=False)
    assert cli.main(["seed"]) == 0
    out = capsys.readouterr().out
    assert f"support database: created or adopted, now at {head(SUPPORT)}" in out
    assert f"shop database: created or adopted, now at {head(SHOP)}" in out
    assert "shop database has 21 demo orders" in out
    assert cli.main(["db", "check"]) == 0
    assert f"shop database: at {head(SHOP)}, matches the models" in capsys.readouterr().out


def test_an_unreachable_database_is_one_sentence(
    tmp_path: Path, monkeypatch: Any, capsys: Any
) -> None:
    monkeypatch.setenv("BOT_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("SUPPORT_DB_URL", "postgresql://paula:geheim@127.0.0.1:1/paula")
    assert cli.main(["db", "upgrade"]) == 2
    captured = capsys.readouterr()
    assert "cannot reach the support database at postgresql://paula:***@127.0.0.1:1/paula" \
        in captured.err
    assert "check SUPPORT_DB_URL" in captured.err
    assert "geheim" not in captured.err + captured.out and "Traceback" not in captured.err
