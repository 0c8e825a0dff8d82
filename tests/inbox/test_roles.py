"""Roles agent / trainer / admin: the trainer page is refused to plain agents; the CLI sets
roles; databases from before roles keep their admins (bot/inbox/_security.py, _cli.py,
bot/migrations/support/versions/v0001_initial.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict

from sqlalchemy import create_engine, select, text

from bot import cli
from bot.inbox._auth import role_of
from bot.inbox._models import Agent
from bot.inbox._passwords import hash_password
from bot.inbox._store import InboxStore
from tests.inbox._support import PASSWORD, add_agent, login, run_async, start_harness


@run_async
async def test_trainer_page_needs_the_trainer_role(tmp_path: Path) -> None:
    h = await start_harness(tmp_path)
    try:
        add_agent(h.store, "anna")  # agent
        add_agent(h.store, "tom", role="trainer")
        add_agent(h.store, "ada", admin=True)
        anna = await h.client()
        csrf = await login(anna, "anna")
        inbox_page = await (await anna.get("/inbox")).text()
        assert 'href="/inbox/trainer"' not in inbox_page  # no link she cannot use
        page = await anna.get("/inbox/trainer")
        assert page.status == 403
        assert "nur für Trainer und Admins" in await page.text()
        assert (await anna.get("/inbox/trainer/report/")).status == 403
        label = await anna.post("/inbox/trainer/label", allow_redirects=False,
                                data={"group": "x", "decision": "ignore", "csrf_token": csrf})
        assert label.status == 403
        assert "nur für Trainer" in (await label.json())["error"]
        for name in ("tom", "ada"):
            client = await h.client()
            await login(client, name)
            assert 'href="/inbox/trainer"' in await (await client.get("/inbox")).text()
            report = await client.get("/inbox/trainer/report/")
            assert report.status == 404  # allowed in; there is just no report yet
            assert "python -m bot evaluate" in await report.text()
    finally:
        await h.close()


def _agents(url: str) -> Dict[str, Any]:
    store = InboxStore.open(url)
    try:
        return store.call(lambda s: {a.name: (role_of(a), a.is_admin, a.must_change_password)
                                     for a in s.execute(select(Agent)).scalars()})
    finally:
        store.close()


def test_cli_sets_roles(tmp_path: Path, monkeypatch: Any, capsys: Any) -> None:
    url = f"sqlite:///{tmp_path / 'support.db'}"
    monkeypatch.setenv("BOT_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("SUPPORT_DB_URL", url)
    assert cli.main(["agent", "add", "tom", "--role", "trainer"]) == 0
    assert cli.main(["agent", "add", "ada", "--admin"]) == 0
    assert cli.main(["agent", "add", "ben"]) == 0
    assert cli.main(["agent", "add", "eve", "--admin", "--role", "agent"]) == 2
    assert "widersprechen sich" in capsys.readouterr().err
    assert _agents(url) == {"tom": ("trainer", False, True), "ada": ("admin", True, True),
                            "ben": ("agent", False, True)}
    assert cli.main(["agent", "role", "ben", "trainer"]) == 0
    assert cli.main(["agent", "role", "ada", "agent"]) == 0
    assert _agents(url)["ben"][:2] == ("trainer", False)
    assert _agents(url)["ada"][:2] == ("agent", False)
    capsys.readouterr()
    assert cli.main(["agent", "list"]) == 0
    listing = capsys.readouterr().out
    assert "ben  (Trainer, Einmal-Passwort)" in listing


def _old_database(url: str, agents: Dict[str, int]) -> None:
    """The inbox_agents table as versions before roles created it, with these agents."""
    engine = create_engine(url, future=True)
    with engine.begin() as connection:
        connection.execute(text(
            "CREATE TABLE inbox_agents (id INTEGER NOT NULL PRIMARY KEY, name VARCHAR(64) NOT "
            "NULL UNIQUE, password_hash VARCHAR(255) NOT NULL, is_admin BOOLEAN NOT NULL, "
            "active BOOLEAN NOT NULL, created_at DATETIME NOT NULL)"))
        for name, admin in agents.items():
            connection.execute(text(
                "INSERT INTO inbox_agents (name, password_hash, is_admin, active, created_at) "
                "VALUES (:name, :hash, :admin, 1, '2026-01-01 00:00:00')"),
                {"name": name, "hash": hash_password(PASSWORD), "admin": admin})
    engine.dispose()


def test_a_database_from_before_roles_keeps_its_admins(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'support.db'}"
    _old_database(url, {"ada": 1, "anna": 0})
    assert _agents(url) == {"ada": ("admin", True, False), "anna": ("agent", False, False)}
    assert _agents(url)["ada"] == ("admin", True, False)  # opening again changes nothing


@run_async
async def test_an_old_admin_can_still_log_in_and_train(tmp_path: Path) -> None:
    _old_database(f"sqlite:///{tmp_path / 'support.db'}", {"ada": 1})
    h = await start_harness(tmp_path)
    try:
        client = await h.client()
        await login(client, "ada")
        assert (await client.get("/inbox/trainer/report/")).status == 404
    finally:
        await h.close()
