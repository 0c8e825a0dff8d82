"""The overview shows what Paula did: automation rate, top topics (by their titles), ask-back
and handoff rates by reason, per-agent figures, over a chosen period — from Rasa's own tracker
store and the support DB."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from rasa.shared.core.events import ActionExecuted

from tests.inbox._support import (
    add_agent,
    create_handoff,
    login,
    post_json,
    run_async,
    start_harness,
)
from tests.trainer.test_review import parse, user, write_conversations


def faq(text: str) -> object:
    from rasa.shared.core.events import UserUttered

    return UserUttered(text, {"name": "faq", "confidence": 0.95},
                       parse_data=parse(text, "faq", 0.95))


@pytest.fixture()
def var(tmp_path: Path) -> Path:
    write_conversations(tmp_path / "tracker.db", {
        "a": [faq("wie lange dauert die lieferung"), ActionExecuted("utter_faq")],
        "b": [faq("lieferzeit?"), ActionExecuted("utter_faq")],
        "c": [user("blabla"), ActionExecuted("action_handle_fallback")],
        "d": [user("Mensch bitte", "request_human", 0.95), ActionExecuted("action_handoff")],
    })
    return tmp_path


@run_async
async def test_overview_shows_automation_topics_rates_and_agents(var: Path) -> None:
    h = await start_harness(var)
    try:
        add_agent(h.store, "anna")
        client = await h.client()
        csrf = await login(client, "anna")
        handoff_id = create_handoff(h.store, "d", "Mensch bitte")
        assert (await post_json(client, f"/inbox/api/conversations/{handoff_id}/claim",
                                csrf)).status == 200
        page = await (await client.get("/inbox/dashboard?days=30")).text()
        assert "letzte 30 Tage" in page
        assert re.search(r'id="kpi-automation">75 %<', page)  # 3 of 4 without a person
        assert "3 von 4 Gesprächen" in page
        assert "Rückfragen je Kundennachricht (1 von 4)" in page
        assert "<td>Lieferzeit</td><td>2</td>" in page  # faq/delivery_time by its title
        assert "Kunde möchte einen Menschen</td><td>1</td><td>25 % der Gespräche" in page
        assert re.search(r"<tr><td>anna</td><td>1</td><td>0</td>", page)
        hostile = await client.get("/inbox/dashboard?days=%27;drop")
        assert hostile.status == 200 and "letzte 14 Tage" in await hostile.text()
    finally:
        await h.close()
