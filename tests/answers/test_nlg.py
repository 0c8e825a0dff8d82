"""Live FAQ answers served by the real Rasa server: an edit through the CLI reaches customers
within seconds without a new model, undo brings the old answer back, a refused edit changes
nothing; the generator keeps answering from the domain when the database is unreachable."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any, Dict, List

import pytest
import yaml
from rasa.core.nlg import TemplatedNaturalLanguageGenerator
from rasa.shared.core.domain import Domain
from rasa.shared.core.trackers import DialogueStateTracker

from bot.answers import AnswerEdit, AnswerStore
from bot.answers.nlg import LiveAnswerGenerator, LiveAnswers
from bot.settings import PROJECT_ROOT
from tests._stack import TEST_MODEL_DIR, Stack

DOMAIN = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text(encoding="utf-8"))
ORIGINAL = DOMAIN["responses"]["utter_faq/shipping_costs"][0]["text"]
QUESTION = "was kostet der versand nach österreich"
EDITED = ("Innerhalb Deutschlands zahlst du 4,95 € Versand, ab 50 € Bestellwert gar nichts. "
          "Nach Österreich kostet der Versand 9,95 €, in die Schweiz 14,95 €.")
LIVE_WITHIN = 10.0  # seconds: the promise to trainers, used only as a wait limit


def faq(stack: Stack, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", "faq", *args], cwd=PROJECT_ROOT, env=stack.env,
        capture_output=True, text=True, timeout=120, check=False,
    )


def ask(stack: Stack) -> tuple[str, str]:
    sender = f"live-{uuid.uuid4().hex[:12]}"
    text = "\n".join(a.get("text", "") for a in stack.send(sender, QUESTION))
    return sender, text


def served_within(stack: Stack, expected: str) -> str:
    deadline = time.monotonic() + LIVE_WITHIN
    _, text = ask(stack)
    while text != expected and time.monotonic() < deadline:
        time.sleep(0.5)
        _, text = ask(stack)
    return text


def model_file(stack: Stack) -> str:
    url = f"{stack.rasa_url}/status?token={stack.token}"
    with urllib.request.urlopen(url, timeout=30) as response:
        status: Dict[str, Any] = json.loads(response.read())
    return str(status["model_file"])


def bot_events(stack: Stack, sender: str) -> List[Dict[str, Any]]:
    return [e for e in stack.tracker(sender)["events"] if e["event"] == "bot"]


@pytest.mark.slow
def test_cli_edit_is_served_live_and_undo_restores_it(stack: Stack) -> None:
    models_before = sorted(p.name for p in TEST_MODEL_DIR.iterdir())
    model_before = model_file(stack)
    assert ask(stack)[1] == ORIGINAL
    try:
        edited = faq(stack, "edit", "shipping_costs", "--answer", EDITED, "--by", "mia")
        assert edited.returncode == 0, edited.stderr
        assert served_within(stack, EDITED) == EDITED
        sender, _ = ask(stack)
        answer = bot_events(stack, sender)[-1]
        assert answer["text"] == EDITED
        assert answer["metadata"]["utter_action"] == "utter_faq/shipping_costs"
        assert model_file(stack) == model_before
        assert sorted(p.name for p in TEST_MODEL_DIR.iterdir()) == models_before

        refused = faq(stack, "edit", "shipping_costs", "--answer",
                      "Nach Deutschland kostet der Versand 4,95 €, nach Österreich 9,95 €, "
                      "in die Schweiz 14,95 €.")
        assert refused.returncode != 0
        assert "Es fehlen Fakten aus company/bergpfad.yml: „50 €“" in refused.stderr
        assert "Traceback" not in refused.stderr

        history = faq(stack, "history", "shipping_costs")
        assert history.returncode == 0, history.stderr
        assert history.stdout.count("by mia") == 1 and "[LIVE]" in history.stdout
        assert time.strftime("%Y-%m-%d", time.gmtime()) in history.stdout
        assert ask(stack)[1] == EDITED  # the refused edit changed nothing

        undone = faq(stack, "undo", "shipping_costs", "--by", "tom")
        assert undone.returncode == 0, undone.stderr
        assert served_within(stack, ORIGINAL) == ORIGINAL
        assert "by tom" in faq(stack, "history", "shipping_costs").stdout
    finally:
        store = AnswerStore.open(stack.settings.support_db_url)
        while (live := store.live("shipping_costs")) is not None:
            store.undo("shipping_costs", "test cleanup", expected=live.id)
        store.close()


@pytest.mark.slow
def test_live_edit_survives_loading_a_model_like_ship_and_rollback(
    stack: Stack, test_model: Path
) -> None:
    """`ship`/`rollback` load a model through PUT /model: Rasa builds a new agent and a new
    generator, which must serve the live edits too (and the new model's domain)."""
    from bot.trainer._ship import RasaServer

    try:
        edited = faq(stack, "edit", "shipping_costs", "--answer", EDITED, "--by", "mia")
        assert edited.returncode == 0, edited.stderr
        assert served_within(stack, EDITED) == EDITED
        RasaServer(stack.rasa_url, stack.token).load(test_model)
        assert ask(stack)[1] == EDITED
        assert faq(stack, "undo", "shipping_costs").returncode == 0
        assert served_within(stack, ORIGINAL) == ORIGINAL
    finally:
        store = AnswerStore.open(stack.settings.support_db_url)
        while (live := store.live("shipping_costs")) is not None:
            store.undo("shipping_costs", "test cleanup", expected=live.id)
        store.close()


def _generate(generator: TemplatedNaturalLanguageGenerator, domain: Domain, action: str,
              **slots: Any) -> Any:
    tracker = DialogueStateTracker("anna", domain.slots)
    for name, value in slots.items():
        tracker.slots[name].value = value
    return asyncio.run(
        generator.generate(action, tracker, "rest", domain_responses=domain.responses)
    )


def test_unreachable_database_keeps_domain_answers_and_other_responses_unchanged(
    tmp_path: Path,
) -> None:
    domain = Domain.load(str(PROJECT_ROOT / "domain.yml"))
    answers = LiveAnswers(f"sqlite:///{tmp_path}", refresh_seconds=1)  # a folder: unreadable
    assert answers.refresh() is False
    live = LiveAnswerGenerator(domain=domain, answers=answers)
    plain = TemplatedNaturalLanguageGenerator(domain.responses)
    assert _generate(live, domain, "utter_faq/shipping_costs")["text"] == ORIGINAL
    for name in domain.responses:
        if not name.startswith("utter_faq/") and len(domain.responses[name]) == 1:
            slots = {"order_number": "BP-482913"} if "order_number" in domain.slots else {}
            assert _generate(live, domain, name, **slots) == _generate(plain, domain, name, **slots)


def test_edit_in_the_database_replaces_only_that_answer(tmp_path: Path) -> None:
    domain = Domain.load(str(PROJECT_ROOT / "domain.yml"))
    url = f"sqlite:///{tmp_path / 'support.db'}"
    AnswerStore.open(url).record("shipping_costs", EDITED, "mia")
    answers = LiveAnswers(url, refresh_seconds=1)
    assert answers.refresh() is True
    live = LiveAnswerGenerator(domain=domain, answers=answers)
    assert _generate(live, domain, "utter_faq/shipping_costs")["text"] == EDITED
    delivery = DOMAIN["responses"]["utter_faq/delivery_time"][0]["text"]
    assert _generate(live, domain, "utter_faq/delivery_time")["text"] == delivery


def test_database_failure_after_a_read_keeps_the_live_answers_and_logs_it(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    url = f"sqlite:///{tmp_path / 'support.db'}"
    store = AnswerStore.open(url)
    store.record("shipping_costs", EDITED, "mia")
    answers = LiveAnswers(url, refresh_seconds=1)
    assert answers.refresh() is True
    AnswerEdit.__table__.drop(store.engine)  # the table is gone: every read fails
    with caplog.at_level("WARNING", logger="bot.answers.nlg"):
        assert answers.refresh() is False
        assert answers.refresh() is False
    assert answers.get("shipping_costs") == EDITED
    warnings = [r.getMessage() for r in caplog.records if "Cannot read live FAQ answers" in
                r.getMessage()]
    assert len(warnings) == 1 and "serving the last live answers read" in warnings[0]
    AnswerEdit.__table__.create(store.engine)
    assert answers.refresh() is True
    assert answers.get("shipping_costs") is None
    store.close()
