"""The review queue on real storage: Rasa's SQLTrackerStore (written by Rasa's own classes) and
the support DB with handoffs and the inbox's agent replies."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, Dict, List

import pytest
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, ConversationPaused, Event, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

import bot.inbox._models  # noqa: F401  (the inbox's tables: agents, replies)
from bot.cli import main
from bot.database import make_engine, session_factory, transaction
from bot.inbox._models import Agent, AgentReply
from bot.models import Handoff, SupportBase
from bot.trainer import Project, ReviewQueue, TrainerError, load_training_data


def parse(text: str, intent: str, confidence: float, guess: str = "faq") -> Dict[str, Any]:
    return {
        "text": text,
        "intent": {"name": intent, "confidence": confidence},
        "intent_ranking": [{"name": intent, "confidence": confidence},
                           {"name": guess, "confidence": 0.3}],
        "entities": [],
        "response_selector": {"faq": {"ranking": [
            {"intent_response_key": "faq/delivery_time", "confidence": 0.35}]}},
    }


def user(text: str, intent: str = "nlu_fallback", confidence: float = 0.3) -> UserUttered:
    return UserUttered(text, {"name": intent, "confidence": confidence},
                       parse_data=parse(text, intent, confidence))


def write_conversations(path: Path, conversations: Dict[str, List[Event]]) -> str:
    store = SQLTrackerStore(Domain.empty(), dialect="sqlite", db=str(path))

    async def save() -> None:
        for sender, events in conversations.items():
            await store.save(DialogueStateTracker.from_events(sender, events))

    asyncio.run(save())
    return f"sqlite:///{path}"


@pytest.fixture()
def queue(project: Project, tmp_path: Path) -> ReviewQueue:
    tracker_url = write_conversations(tmp_path / "tracker.db", {
        "anna": [user("wo bleibt BP-734019, ich heiße Anna Berg"),
                 ActionExecuted("action_handle_fallback")],
        "ben": [user("wo bleibt bp 861257, ich heiße Ben"),
                ActionExecuted("action_handle_fallback"),
                user("wo bleibt bp 861257 ??"), ActionExecuted("action_handoff"),
                ConversationPaused(), user("hallo??", "greet", 0.9)],
        "cem": [user("Mensch bitte", "request_human", 0.95), ActionExecuted("action_handoff")],
        "dora": [user("lieferzeit?", "faq", 0.97), ActionExecuted("utter_faq")],
        "emil": [user("verkauft ihr auch kanus", "out_of_scope", 0.8),
                 ActionExecuted("action_handoff")],
        "fynn": [user("/request_human", "request_human", 1.0)],
    })
    support_url = f"sqlite:///{tmp_path / 'support.db'}"
    engine = make_engine(support_url)
    SupportBase.metadata.create_all(engine)
    with transaction(session_factory(engine)) as session:
        agent = Agent(name="mia", password_hash="x")
        session.add(agent)
        handoff = Handoff(sender_id="ben", channel="rest", reason="repeated_fallback",
                          confidence=0.3, last_message="wo bleibt bp 861257 ??",
                          status="resolved")
        session.add(handoff)
        session.flush()
        session.add(AgentReply(handoff_id=handoff.id, agent_id=agent.id, status="sent",
                               text="Dein Paket BP-861257 kommt morgen, schreib an ben@mail.de"))
    engine.dispose()
    return ReviewQueue(project, tracker_url, support_url)


def test_groups_missed_messages_most_frequent_first_masked(queue: ReviewQueue) -> None:
    groups = queue.groups()
    texts = [[m.text for m in g.messages] for g in groups]
    # not: the request for a person, the answered FAQ, the message while paused, the button
    assert texts[0] == ["wo bleibt BP-000000, ich heiße Alex"] * 2
    assert sorted(t for group in texts[1:] for t in group) == [
        "verkauft ihr auch kanus", "wo bleibt BP-000000 ??"]
    first = groups[0]
    assert first.reasons == ["ask_back"]
    assert first.guess == ("faq/delivery_time", 0.35)
    handed_over = next(g for g in groups if g.text == "wo bleibt BP-000000 ??")
    assert handed_over.reasons == ["handoff"]
    # the agent's answer of the resolved handoff, masked
    assert handed_over.agent_replies == [
        "Dein Paket BP-000000 kommt morgen, schreib an kunde@example.com"]
    everything = repr(groups)
    for secret in ("734019", "861257", "Anna", "Berg", "ben@mail.de"):
        assert secret not in everything


def test_label_puts_masked_examples_into_the_data_and_empties_the_group(
    queue: ReviewQueue, project: Project
) -> None:
    group = queue.groups()[0]
    queue.label(group.id, "order_status", by="mia")
    examples = load_training_data(project).examples_of("order_status")
    assert "wo bleibt BP-000000, ich heiße Alex" in examples
    faq_text = (project.nlu_dir / "conversation.yml").read_text(encoding="utf-8")
    assert "734019" not in faq_text and "861257" not in faq_text
    assert sorted(g.text for g in queue.groups()) == [
        "verkauft ihr auch kanus", "wo bleibt BP-000000 ??"]
    with pytest.raises(TrainerError, match="no open review group"):
        queue.label(group.id, "order_status")


def test_out_of_scope_new_faq_and_ignore(queue: ReviewQueue, project: Project) -> None:
    groups = {g.text: g for g in queue.groups()}
    queue.label(groups["verkauft ihr auch kanus"].id, "out_of_scope")
    assert "verkauft ihr auch kanus" in load_training_data(project).examples_of("out_of_scope")
    queue.ignore(groups["wo bleibt BP-000000 ??"].id)
    group = queue.groups()[0]
    queue.new_faq(group.id, "parcel_delay", "Wenn dein Paket sich verspätet, schau in die "
                  "Sendungsverfolgung oder schreib uns.", question="Mein Paket ist verspätet.")
    data = load_training_data(project)
    assert data.examples_of("faq/parcel_delay")[0] == "Mein Paket ist verspätet."
    assert queue.groups() == []
    rows = queue.labels.recent()
    assert {r.decision for r in rows} == {"out_of_scope", "new", "ignore"}


def test_cli_review_list_show_label(
    queue: ReviewQueue, project: Project, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SUPPORT_DB_URL", queue.support_db_url)
    monkeypatch.setenv("TRACKER_DB_URL", queue.tracker_db_url)
    args = ["review", "--project", str(project.root)]
    assert main([*args, "list"]) == 0
    out = capsys.readouterr().out
    group_id = queue.groups()[0].id
    assert f"{group_id}    2x  [Rückfrage]  'wo bleibt BP-000000, ich heiße Alex'" in out
    handed_over = next(g.id for g in queue.groups() if g.text == "wo bleibt BP-000000 ??")
    assert main([*args, "show", handed_over]) == 0
    assert "suggestion (agent's answer after handoff): Dein Paket BP-000000" in \
        capsys.readouterr().out
    assert main([*args, "label", group_id]) == 2
    assert "say what the messages are" in capsys.readouterr().err
    assert main([*args, "label", group_id, "--ignore"]) == 0
    assert group_id not in [g.id for g in queue.groups()]
