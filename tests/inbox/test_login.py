"""First log-in with a one-time password: nothing but setting an own password is possible;
common passwords are refused (bot/inbox/_login.py, _passwords.py, _security.py)."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import pytest

from bot import cli
from bot.inbox._passwords import WeakPasswordError, check_password_strength, hash_password
from tests.inbox._support import (
    LOGIN_TOKEN,
    escalate,
    login,
    post_json,
    run_async,
    start_harness,
)


async def _post_login(client: Any, name: str, password: str) -> Any:
    page = await client.get("/login")
    token = LOGIN_TOKEN.search(await page.text())
    assert token
    return await client.post("/login", data={"name": name, "password": password,
                                             "csrf_token": token.group(1)},
                             allow_redirects=False)


@run_async
async def test_one_time_password_only_allows_setting_an_own_one(
    tmp_path: Path, monkeypatch: Any, capsys: Any
) -> None:
    h = await start_harness(tmp_path)
    try:
        monkeypatch.setenv("BOT_VAR_DIR", str(tmp_path))
        monkeypatch.setenv("SUPPORT_DB_URL", h.settings.support_db_url)
        assert cli.main(["agent", "add", "ben"]) == 0
        one_time = re.search(r"Einmal-Passwort \(wird nicht noch einmal angezeigt\): (\S+)",
                             capsys.readouterr().out)
        assert one_time
        handoff_id = escalate(h.rasa, h.store, "tg-50")
        await h.consume()
        client = await h.client()
        response = await _post_login(client, "ben", one_time.group(1))
        assert (response.status, response.headers["Location"]) == (302, "/inbox/password")
        # every other page leads back to the password form, every API call is refused
        inbox = await client.get("/inbox", allow_redirects=False)
        assert (inbox.status, inbox.headers["Location"]) == (302, "/inbox/password")
        assert (await client.get("/inbox/api/queue")).status == 403
        form = await client.get("/inbox/password")
        assert form.status == 200 and "Einmal-Passwort" in await form.text()
        csrf = LOGIN_TOKEN.search(await form.text())
        assert csrf
        claim = await post_json(client, f"/inbox/api/conversations/{handoff_id}/claim",
                                csrf.group(1))
        assert claim.status == 403
        assert "eigenes Passwort" in (await claim.json())["error"]

        async def change(new: str) -> Any:
            return await client.post(
                "/inbox/password", allow_redirects=False,
                data={"current": one_time.group(1), "new": new, "repeat": new,
                      "csrf_token": csrf.group(1)},
            )

        weak = await change("Passwort2024!")
        assert weak.status == 400 and "zu leicht zu erraten" in await weak.text()
        same = await change(one_time.group(1))
        assert same.status == 400 and "unterscheiden" in await same.text()
        done = await change("mein eigener Satz 7")
        assert (done.status, done.headers["Location"]) == (302, "/login")
        # the one-time password is gone; the own one opens the inbox
        assert (await _post_login(client, "ben", one_time.group(1))).status == 401
        await login(client, "ben", "mein eigener Satz 7")
        assert (await client.get("/inbox/api/queue")).status == 200
    finally:
        await h.close()


@pytest.mark.parametrize("password", [
    "Passwort2024!", "hallo12345", "1234567890", "qwertzuiop", "ichliebedich", "Schalke04!!",
    "bergpfad2026", "aaaaaaaaaaaa",
])
def test_common_passwords_are_refused(password: str) -> None:
    with pytest.raises(WeakPasswordError):
        check_password_strength(password)
    with pytest.raises(WeakPasswordError):
        hash_password(password)


def test_the_cli_refuses_a_common_password(tmp_path: Path, monkeypatch: Any, capsys: Any) -> None:
    monkeypatch.setenv("BOT_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("SUPPORT_DB_URL", f"sqlite:///{tmp_path / 'support.db'}")
    monkeypatch.setattr("sys.stdin", io.StringIO("Sommer2024!\n"))
    assert cli.main(["agent", "add", "anna", "--password-stdin"]) == 2
    assert "zu leicht zu erraten" in capsys.readouterr().err


def test_good_passwords_pass() -> None:
    for password in ("mein eigener Satz 7", "Tannenzapfen-Laterne-41", "x7#Kp2!vQm"):
        check_password_strength(password)
