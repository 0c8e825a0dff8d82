"""action_store_rating against a real support database; `python -m bot agent ...`."""

from __future__ import annotations

import asyncio
import io
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Dict, List

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select

from actions._runtime import build_runtime
from actions.feedback import ActionStoreRating
from bot import cli
from bot.database import transaction
from bot.inbox._models import Agent
from bot.inbox._passwords import verify_password
from bot.inbox._store import InboxStore
from bot.models import Handoff
from bot.settings import load_settings
from tests.inbox._support import create_handoff

NOW = datetime(2026, 3, 10, 9, 30, tzinfo=timezone.utc)


def _tracker(text: str, entities: List[Dict[str, Any]]) -> Tracker:
    parse = {"text": text, "intent": {"name": "rate", "confidence": 0.99}, "entities": entities}
    return Tracker(sender_id="tg-77", slots={}, latest_message=parse,
                   events=[{"event": "user", "text": text, "parse_data": parse}], paused=False,
                   followup_action=None, active_loop={}, latest_action_name="action_listen")


def _run(action: ActionStoreRating, tracker: Tracker) -> List[Dict[str, Any]]:
    dispatcher = CollectingDispatcher()
    asyncio.run(action.run(dispatcher, tracker, {}))
    return dispatcher.messages


def test_rating_button_is_stored_with_the_resolved_handoff(tmp_path: Path) -> None:
    runtime = build_runtime(load_settings({"BOT_VAR_DIR": str(tmp_path)}))
    runtime.clock = lambda: NOW
    store = InboxStore.open(runtime.settings.support_db_url)
    handoff_id = create_handoff(store, "tg-77", now=NOW - timedelta(minutes=20))
    with transaction(store.sessions) as session:
        record = session.get(Handoff, handoff_id)
        record.status, record.resolved_at = "resolved", (NOW - timedelta(minutes=1)).replace(
            tzinfo=None)
    action = ActionStoreRating(runtime)
    messages = _run(action, _tracker('/rate{"rating": 5}',
                                     [{"entity": "rating", "value": 5}]))
    assert messages[0]["response"] == "utter_rating_thanks"
    assert store.call(lambda s: s.get(Handoff, handoff_id).rating) == 5
    # typed instead of tapped, and not understood: asks again, stores nothing new
    assert _run(action, _tracker("hmm", []))[0]["response"] == "utter_rating_unclear"


def test_agent_add_reads_the_password_from_stdin(tmp_path: Path, monkeypatch: Any,
                                                 capsys: Any) -> None:
    monkeypatch.setenv("BOT_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("SUPPORT_DB_URL", f"sqlite:///{tmp_path / 'support.db'}")
    monkeypatch.setattr("sys.stdin", io.StringIO("ein-langes-passwort\n"))
    assert cli.main(["agent", "add", "anna", "--admin", "--password-stdin"]) == 0
    assert cli.main(["agent", "add", "ben"]) == 0
    output = capsys.readouterr().out
    assert "Einmal-Passwort" in output
    one_time = output.split("Einmal-Passwort (wird nicht noch einmal angezeigt): ")[1].split()[0]
    store = InboxStore.open(f"sqlite:///{tmp_path / 'support.db'}")
    agents = store.call(lambda s: {a.name: (a.is_admin, a.password_hash)
                                   for a in s.execute(select(Agent)).scalars()})
    assert agents["anna"][0] is True and verify_password("ein-langes-passwort", agents["anna"][1])
    assert agents["ben"][0] is False and verify_password(one_time, agents["ben"][1])
    assert cli.main(["agent", "add", "anna"]) == 1  # no duplicates


@pytest.mark.parametrize("password", ["kurz"])
def test_short_passwords_are_refused(tmp_path: Path, monkeypatch: Any, password: str) -> None:
    monkeypatch.setenv("BOT_VAR_DIR", str(tmp_path))
    monkeypatch.setattr("sys.stdin", io.StringIO(password + "\n"))
    assert cli.main(["agent", "add", "anna", "--password-stdin"]) == 2


def test_agent_password_disable_enable(tmp_path: Path, monkeypatch: Any, capsys: Any) -> None:
    url = f"sqlite:///{tmp_path / 'support.db'}"
    monkeypatch.setenv("BOT_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("SUPPORT_DB_URL", url)
    monkeypatch.setattr("sys.stdin", io.StringIO("ein-langes-passwort\nneues-langes-passwort\n"))
    assert cli.main(["agent", "add", "anna", "--password-stdin"]) == 0
    assert cli.main(["agent", "password", "anna", "--password-stdin"]) == 0
    assert cli.main(["agent", "disable", "anna"]) == 0
    store = InboxStore.open(url)

    def anna() -> Any:
        return store.call(lambda s: s.execute(select(Agent)).scalars().one())

    assert verify_password("neues-langes-passwort", anna().password_hash)
    assert anna().active is False
    assert cli.main(["agent", "enable", "anna"]) == 0
    assert anna().active is True
    assert cli.main(["agent", "disable", "bert"]) == 1
    assert "'bert' gibt es nicht" in capsys.readouterr().err
