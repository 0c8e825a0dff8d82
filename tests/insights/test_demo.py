"""``demo-traffic`` through the real bot (Rasa + action server on loopback), back-dated, and
the report on it: every figure equals a count taken straight from the stores."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Dict, Iterator, Tuple

import pytest
from sqlalchemy import create_engine, select, text

from bot.answers.feedback import AnswerRating
from bot.database import make_engine, session_factory, transaction
from bot.inbox._models import HandoffEvent
from bot.insights._demo import DemoResult, play
from bot.insights._render import write_report
from bot.insights._report import Report, build_report
from bot.insights._scenario import incident_start
from bot.insights._signals import hour_of
from bot.insights._worker import Insights
from bot.models import Handoff, utcnow
from bot.settings import PROJECT_ROOT
from tests._stack import Stack, start_stack

DAYS = 3


@pytest.fixture(scope="module")
def played(test_model: Path, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[Tuple[Stack, DemoResult, datetime]]:
    stack = start_stack(tmp_path_factory.mktemp("insights-stack"), test_model)
    try:
        end = utcnow()
        result = play(stack.settings, DAYS, per_day=40, seed=5, end=end)
        yield stack, result, end
    finally:
        stack.stop()


def _broker_events(stack: Stack) -> list[Dict[str, Any]]:
    engine = create_engine(f"sqlite:///{stack.settings.var_dir / 'events.db'}", future=True)
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT sender_id, data FROM events")).all()
    engine.dispose()
    events = []
    for sender, raw in rows:
        event = json.loads(raw)
        event["_sender"] = sender
        events.append(event)
    return events


def _when(event: Dict[str, Any]) -> datetime:
    return datetime.fromtimestamp(float(event["timestamp"]), tz=timezone.utc).replace(tzinfo=None)


def test_demo_traffic_goes_through_the_real_bot_back_dated(played: Any) -> None:
    stack, result, end = played
    events = _broker_events(stack)
    users = [e for e in events if e["event"] == "user"]
    assert len(users) == result.messages > 100
    assert len({e["_sender"] for e in users}) == result.conversations
    assert min(_when(e) for e in users) >= end - timedelta(days=DAYS, hours=1)
    assert max(_when(e) for e in users) <= end
    assert len({_when(e).date() for e in users}) >= DAYS  # spread over the days, not "now"
    # The bot (not the script) read the messages: the planted incident as damaged parcels.
    start = incident_start(end)
    damaged = [e for e in users if start <= _when(e) < start + timedelta(hours=4)
               and (e["parse_data"].get("response_selector") or {}).get("faq", {})
               .get("response", {}).get("intent_response_key") == "faq/damaged_parcel"
               and e["parse_data"]["intent"]["name"] == "faq"]
    assert len(damaged) >= 0.8 * result.incident_conversations > 0
    sessions = session_factory(make_engine(stack.settings.support_db_url))
    with transaction(sessions) as session:
        handoffs = session.execute(select(Handoff)).scalars().all()
    assert len(handoffs) == result.handoffs > 0
    assert all(h.status == "resolved" and h.created_at <= end for h in handoffs)
    assert min(h.created_at for h in handoffs) < end - timedelta(days=1)


def _report(stack: Stack, end: datetime) -> Tuple[Report, datetime, datetime]:
    insights = Insights.open(stack.settings)
    try:
        insights.aggregate()
        stop = hour_of(end) + timedelta(hours=1)
        begin = stop - timedelta(days=DAYS + 1)
        with transaction(insights.sessions) as session:
            return build_report(session, begin, stop, stack.settings.timezone), begin, stop
    finally:
        insights.close()


def test_report_figures_equal_the_counts_in_the_stores(played: Any, tmp_path: Path) -> None:
    stack, result, end = played
    report, begin, stop = _report(stack, end)
    expected: Counter = Counter()
    topics: Counter = Counter()
    helpful: Counter = Counter()
    for event in _broker_events(stack):
        if not begin <= _when(event) < stop:
            continue
        kind = event["event"]
        if kind == "user":
            expected["message"] += 1
            intent = event["parse_data"]["intent"]["name"]
            if intent == "faq":
                key = event["parse_data"]["response_selector"]["faq"]["response"][
                    "intent_response_key"]
                topics[key.split("/")[1]] += 1
                expected["topic"] += 1
            elif intent == "complaint":
                expected["complaint"] += 1
            elif intent in ("nlu_fallback", "out_of_scope") and not any(
                    e["entity"] in ("order_number", "postal_code")
                    for e in event["parse_data"]["entities"]):
                expected["unanswered"] += 1  # a postal code typed into the form is answered
        elif kind == "session_started":
            expected["conversation"] += 1
        elif kind == "slot" and event["name"] == "answer_rating" and event["value"]:
            value = event["value"]
            helpful[(value["topic"].split("/")[1], value["helpful"])] += 1
        elif kind == "action" and event["name"] == "action_order_status":
            expected["order_lookup"] += 1
        elif kind == "bot" and (event.get("metadata") or {}).get("utter_action") in (
                "utter_ask_back", "utter_ask_rephrase"):
            expected["ask_back"] += 1
    sessions = session_factory(make_engine(stack.settings.support_db_url))
    with transaction(sessions) as session:
        reasons = Counter(h.reason for h in session.execute(select(Handoff)).scalars()
                          if begin <= h.created_at < stop)
        ratings = Counter(int(e.detail) for e in session.execute(
            select(HandoffEvent).where(HandoffEvent.kind == "rated")).scalars())
    expected["handoff"] = sum(reasons.values())
    expected["rating"] = sum(ratings.values())
    assert expected["message"] == result.messages and expected["rating"] > 0
    for kind in ("message", "conversation", "topic", "complaint", "unanswered", "order_lookup",
                 "ask_back", "handoff", "rating"):
        assert report.totals.get(kind, 0) == expected[kind], kind
    assert {t.topic: t.current for t in report.topics if t.current} == dict(topics)
    assert dict(report.handoff_reasons) == dict(reasons)
    assert report.ratings == dict(ratings)
    # 👍/👎 under FAQ answers: the taps went through the real bot (rows in answer_ratings).
    with transaction(sessions) as session:
        stored = Counter((str(r.topic).split("/")[1], bool(r.helpful)) for r in
                         session.execute(select(AnswerRating)).scalars())
    assert sum(helpful.values()) > 0 and stored == helpful
    assert {(topic, True): yes for topic, yes, _no in report.helpfulness if yes} == {
        key: n for key, n in helpful.items() if key[1]}
    assert {(topic, False): no for topic, _yes, no in report.helpfulness if no} == {
        key: n for key, n in helpful.items() if not key[1]}
    assert report.automation_rate == pytest.approx(
        1 - expected["handoff"] / expected["conversation"])
    assert report.unanswered and report.unanswered[0].size >= 2

    files = write_report(report, tmp_path)
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    for section in ("volumen", "themen", "uebergaben", "bewertungen", "geholfen",
                    "unbeantwortet", "warnungen"):
        assert f'id="{section}"' in page
    assert page.count("data:image/png;base64,") == 2
    assert "Paket beschädigt" in page or "Beschädigte Pakete" in page
    names = {path.name for path in files}
    assert {"volumes.csv", "topics.csv", "handoff_reasons.csv", "ratings.csv",
            "unanswered_clusters.csv"} <= names
    daily = (tmp_path / "volumes.csv").read_text(encoding="utf-8").splitlines()
    column = daily[0].split(",").index("message")
    assert sum(int(line.split(",")[column]) for line in daily[1:]) == expected["message"]


def test_insights_command_writes_the_report(played: Any, tmp_path: Path) -> None:
    stack, _result, _end = played
    done = subprocess.run(
        [sys.executable, "-m", "bot", "insights", "--since", "7d", "--out", str(tmp_path)],
        cwd=PROJECT_ROOT, env=stack.env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "Nachrichten" in done.stdout and "Automatisierungsquote" in done.stdout
    assert (tmp_path / "report.html").is_file() and (tmp_path / "topics.csv").is_file()
