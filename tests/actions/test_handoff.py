"""action_handoff against a real SQLite support database, with an injected clock."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from datetime import datetime
from pathlib import Path
from typing import Any, Dict, List, Optional
from zoneinfo import ZoneInfo

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import create_engine, select

from actions._runtime import Runtime, build_runtime
from actions.handoff import ActionHandoff
from bot.database import make_engine, session_factory, transaction
from bot.models import Handoff, SupportBase
from bot.settings import load_settings

BERLIN = ZoneInfo("Europe/Berlin")
MONDAY_10 = datetime(2026, 11, 23, 10, 0, tzinfo=BERLIN)
SUNDAY_10 = datetime(2026, 11, 22, 10, 0, tzinfo=BERLIN)


def runtime_at(tmp_path: Path, moment: datetime) -> Runtime:
    runtime = build_runtime(load_settings({"BOT_VAR_DIR": str(tmp_path)}))
    runtime.clock = lambda: moment
    return runtime


def tracker(
    text: str,
    intent: str,
    confidence: float,
    *,
    ranking: Optional[List[Dict[str, Any]]] = None,
    extra: Optional[Dict[str, Any]] = None,
    slots: Optional[Dict[str, Any]] = None,
) -> Tracker:
    parse = {
        "text": text,
        "intent": {"name": intent, "confidence": confidence},
        "intent_ranking": ranking or [{"name": intent, "confidence": confidence}],
        "entities": [],
        **(extra or {}),
    }
    events = [
        {"event": "action", "name": "action_listen"},
        {"event": "user", "text": text, "parse_data": parse, "input_channel": "telegram"},
    ]
    return Tracker(
        sender_id="4711",
        slots=slots or {},
        latest_message=parse,
        events=events,
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )


def run(action: ActionHandoff, tracker: Tracker) -> tuple[List[Dict[str, Any]], List[str]]:
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, tracker, {}))
    return events, [m["text"] for m in dispatcher.messages]


def stored(runtime: Runtime) -> List[Handoff]:
    with runtime.support() as session:
        return list(session.execute(select(Handoff)).scalars())


def test_handoff_is_recorded_and_the_bot_pauses(tmp_path: Path) -> None:
    runtime = runtime_at(tmp_path, MONDAY_10)
    events, texts = run(
        ActionHandoff(runtime), tracker("ich will mit einem menschen reden", "request_human", 0.97)
    )
    assert {"event": "pause", "timestamp": None} in events
    [record] = stored(runtime)
    assert record.sender_id == "4711"
    assert record.channel == "telegram"
    assert record.reason == "customer_request"
    assert record.confidence == pytest.approx(0.97)
    assert record.last_message == "ich will mit einem menschen reden"
    assert record.status == "open"
    assert record.outside_service_hours == 0
    assert record.created_at == datetime(2026, 11, 23, 9, 0)  # stored as UTC
    assert "meldet sich hier im Chat" in texts[0]


def test_customer_is_told_when_service_opens_outside_hours(tmp_path: Path) -> None:
    inside_runtime = runtime_at(tmp_path / "a", MONDAY_10)
    inside = run(ActionHandoff(inside_runtime), tracker("mensch", "request_human", 0.9))[1]
    outside_runtime = runtime_at(tmp_path / "b", SUNDAY_10)
    outside = run(ActionHandoff(outside_runtime), tracker("mensch", "request_human", 0.9))[1]
    assert inside != outside
    assert "morgen (Montag) ab 8 Uhr" in outside[0]
    assert "nicht besetzt" in outside[0]
    assert stored(outside_runtime)[0].outside_service_hours == 1


def test_reason_follows_what_triggered_the_handoff(tmp_path: Path) -> None:
    runtime = runtime_at(tmp_path, MONDAY_10)
    action = ActionHandoff(runtime)
    run(action, tracker("IHR SEID DAS LETZTE!!!", "complaint", 0.88))
    fallback_ranking = [
        {"name": "nlu_fallback", "confidence": 0.5},
        {"name": "faq", "confidence": 0.31},
    ]
    t = tracker("hmm was", "nlu_fallback", 0.5, ranking=fallback_ranking)
    t.sender_id = "other"
    run(action, t)
    guarded = tracker(
        "zelt", "nlu_fallback", 0.2, extra={"answer_guard": {"confidence": 0.2, "candidates": []}}
    )
    guarded.sender_id = "third"
    run(action, guarded)
    slot = tracker("BP-1", "inform", 0.9, slots={"handoff_reason": "order_lookup_failed"})
    slot.sender_id = "fourth"
    run(action, slot)
    reasons = {r.sender_id: (r.reason, r.confidence) for r in stored(runtime)}
    assert reasons["4711"] == ("complaint", pytest.approx(0.88))
    assert reasons["other"] == ("low_nlu_confidence", pytest.approx(0.31))
    assert reasons["third"] == ("low_answer_confidence", pytest.approx(0.2))
    assert reasons["fourth"][0] == "order_lookup_failed"


def test_a_waiting_customer_keeps_one_place_in_the_queue(tmp_path: Path) -> None:
    runtime = runtime_at(tmp_path, MONDAY_10)
    run(ActionHandoff(runtime), tracker("mensch bitte", "request_human", 0.9))
    run(ActionHandoff(runtime), tracker("hallo??? MENSCH", "request_human", 0.9))
    [record] = stored(runtime)
    assert record.last_message == "hallo??? MENSCH"


def test_locked_database_still_hands_over_and_the_inbox_records_it_later(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The support DB is locked by another writer: the customer still reaches a person."""
    from rasa.shared.core.events import Event

    import bot.inbox._models  # noqa: F401 - the inbox's tables
    from bot.inbox._broker import BrokerRow, process_rows

    runtime = runtime_at(tmp_path, MONDAY_10)
    database = tmp_path / "support.db"
    SupportBase.metadata.create_all(make_engine(f"sqlite:///{database}"))
    # The real database, with a short busy timeout so the test need not wait 30 s.
    runtime.support = session_factory(
        create_engine(f"sqlite:///{database}", connect_args={"timeout": 0.2})
    )
    blocker = sqlite3.connect(database, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    try:
        with caplog.at_level(logging.ERROR, logger="actions.handoff"):
            events, texts = run(
                ActionHandoff(runtime),
                tracker("wo ist mein paket", "inform", 0.9,
                        slots={"handoff_reason": "order_locked", "order_number": "BP-482913"}),
            )
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert "meldet sich hier im Chat" in texts[0]
    [pause] = [e for e in events if e["event"] == "pause"]
    assert "support database unavailable" in caplog.text and "NOT recorded" in caplog.text
    assert stored(runtime) == []
    # What Rasa stores and publishes to the event broker; the inbox's consumer records it.
    row = BrokerRow(7, "4711", Event.from_parameters(pause).as_dict())
    for _ in range(2):  # a consumer restart does not record it twice
        with transaction(runtime.support) as session:
            process_rows(session, [row], datetime(2026, 11, 23, 9, 1))
    [record] = stored(runtime)
    assert (record.sender_id, record.channel, record.reason, record.order_number) == (
        "4711", "telegram", "order_locked", "BP-482913"
    )
    assert record.status == "open"
    assert "wo ist mein paket" not in str(pause)  # no copy of the customer's words
    assert record.created_at == datetime(2026, 11, 23, 9, 0)


def test_a_recorded_handoff_is_not_recorded_again_by_the_inbox(tmp_path: Path) -> None:
    import bot.inbox._models  # noqa: F401 - the inbox's tables
    from bot.inbox._broker import BrokerRow, process_rows

    runtime = runtime_at(tmp_path, MONDAY_10)
    SupportBase.metadata.create_all(make_engine(runtime.settings.support_db_url))
    events, _ = run(ActionHandoff(runtime), tracker("mensch", "request_human", 0.9))
    [pause] = [e for e in events if e["event"] == "pause"]
    assert "metadata" not in pause
    with runtime.support() as session:
        record = session.execute(select(Handoff)).scalars().one()
        record.status = "resolved"
        session.commit()
    with transaction(runtime.support) as session:
        process_rows(session, [BrokerRow(3, "4711", pause)], datetime(2026, 11, 23, 9, 5))
    assert len(stored(runtime)) == 1


def _english_tracker(*turns: Dict[str, Any]) -> Tracker:
    """A conversation of user turns given as parse data, the last one being the latest."""
    events: List[Dict[str, Any]] = [{"event": "action", "name": "action_listen"}]
    for parse in turns:
        events.append({"event": "user", "text": parse["text"], "parse_data": parse,
                       "input_channel": "telegram"})
    return Tracker(sender_id="4711", slots={}, latest_message=turns[-1], events=events,
                   paused=False, followup_action=None, active_loop={},
                   latest_action_name="action_listen")


def _parse(text: str, intent: str, **extra: Any) -> Dict[str, Any]:
    return {"text": text, "intent": {"name": intent, "confidence": 0.9},
            "intent_ranking": [{"name": intent, "confidence": 0.9}], "entities": [], **extra}


def test_an_english_customer_is_told_in_english_that_a_colleague_answers(tmp_path: Path) -> None:
    asked = _parse("can someone call me back?", "request_human", written_in_english=True)
    texts = run(ActionHandoff(runtime_at(tmp_path / "a", MONDAY_10)), _english_tracker(asked))[1]
    assert "A colleague will reply here in this chat, in English" in texts[0]
    closed = run(ActionHandoff(runtime_at(tmp_path / "b", SUNDAY_10)), _english_tracker(asked))[1]
    assert "closed right now" in closed[0] and "tomorrow (Monday) from 8:00" in closed[0]


def test_the_connect_button_after_the_english_reply_hands_over_in_english(
    tmp_path: Path,
) -> None:
    typed = _parse("hi, do you ship to the UK?", "english", written_in_english=True)
    button = _parse("/request_human", "request_human")
    texts = run(ActionHandoff(runtime_at(tmp_path, MONDAY_10)), _english_tracker(typed, button))[1]
    assert texts[0].startswith("I'm passing your request to my team")


def test_a_customer_back_in_german_is_told_in_german(tmp_path: Path) -> None:
    typed = _parse("hi, do you ship to the UK?", "english", written_in_english=True)
    german = _parse("doch lieber deutsch, ich will mit einem menschen reden", "request_human")
    texts = run(ActionHandoff(runtime_at(tmp_path, MONDAY_10)), _english_tracker(typed, german))[1]
    assert "meldet sich hier im Chat" in texts[0]
