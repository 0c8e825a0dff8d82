"""The order form's lookups against real SQLite shop and support databases, with a fixed clock.

The attack: a new conversation (sender id) per postcode guess got 3 fresh tries each time.
"""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import create_engine, select

from actions._runtime import Runtime, build_runtime
from actions.handoff import ActionHandoff
from actions.order_status import ActionOrderStatus, ValidateOrderStatusForm
from bot.database import make_engine, session_factory
from bot.models import Handoff
from bot.order_guard import OrderLookupGuard
from bot.seed import seed_shop
from bot.settings import load_settings

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)
RIGHT = ("BP-482913", "80331")


def runtime_for(tmp_path: Path, **env: str) -> Runtime:
    settings = load_settings({"BOT_VAR_DIR": str(tmp_path), **env})
    seed_shop(make_engine(settings.shop_db_url))
    runtime = build_runtime(settings)
    runtime.clock = lambda: NOW
    return runtime


def tracker(sender: str, slots: Dict[str, Any]) -> Tracker:
    return Tracker(
        sender_id=sender, slots=slots, latest_message={"text": "", "intent": {"name": "inform"}},
        events=[], paused=False, followup_action=None,
        active_loop={"name": "order_status_form"}, latest_action_name="order_status_form",
    )


def said(dispatcher: CollectingDispatcher) -> List[str]:
    return [str(m.get("response") or m.get("text")) for m in dispatcher.messages]


def one_conversation(
    runtime: Runtime, sender: str, number: str, postcode: str
) -> Tuple[List[str], Optional[Dict[str, Any]]]:
    """A fresh conversation: the form validates the postcode, then action_order_status runs if
    the form finished. Returns what the customer read and the handoff the bot asked for."""
    form = ValidateOrderStatusForm(runtime)
    dispatcher = CollectingDispatcher()
    slots = asyncio.run(
        form.validate_postal_code(
            postcode, dispatcher, tracker(sender, {"order_number": number}), {}
        )
    )
    if slots.get("postal_code") is None:
        return said(dispatcher), None  # asked again
    final = CollectingDispatcher()
    events = asyncio.run(
        ActionOrderStatus(runtime).run(
            final, tracker(sender, {"order_number": number, **slots}), {}
        )
    )
    handoff = next((e for e in events if e.get("name") == "handoff_reason"), None)
    followup = [e for e in events if e.get("event") == "followup"]
    return said(dispatcher) + said(final), (
        {"reason": handoff["value"], "followup": followup[0]["name"]} if followup and handoff
        else None
    )


def test_new_conversations_per_guess_do_not_get_new_tries(tmp_path: Path) -> None:
    runtime = runtime_for(tmp_path)
    replies = [one_conversation(runtime, f"guess-{i}", "BP-482913", f"1000{i}") for i in range(4)]
    assert all(text == ["utter_order_not_found"] and h is None for text, h in replies)
    # The 5th failure within the hour locks the number: hand over, no more guessing.
    text, handoff = one_conversation(runtime, "guess-4", "BP-482913", "10009")
    assert handoff == {"reason": "order_locked", "followup": "action_handoff"}
    locked_text = text
    # Even the right postcode, from yet another conversation, reveals nothing now.
    text, handoff = one_conversation(runtime, "guess-5", *RIGHT)
    assert text == locked_text
    assert not any("unterwegs" in t or "dhl" in t.lower() for t in text)
    assert handoff == {"reason": "order_locked", "followup": "action_handoff"}
    # The handoff the customer gets records the lock for the agents.
    handoff_tracker = tracker(
        "guess-5", {"order_number": "BP-482913", "handoff_reason": "order_locked"}
    )
    asyncio.run(ActionHandoff(runtime).run(CollectingDispatcher(), handoff_tracker, {}))
    with runtime.support() as session:
        record = session.execute(select(Handoff)).scalars().one()
        guard = session.get(OrderLookupGuard, "BP-482913")
    assert (record.reason, record.order_number) == ("order_locked", "BP-482913")
    assert guard is not None and guard.locked_until == datetime(2026, 11, 24, 9, 0)
    # Other orders are not affected.
    text, handoff = one_conversation(runtime, "other", "BP-100011", "90402")
    assert handoff is None and "zugestellt" in text[0]


def test_unknown_wrong_and_locked_read_the_same(tmp_path: Path) -> None:
    runtime = runtime_for(tmp_path, ORDER_LOOKUP_MAX_FAILURES="2")
    wrong = one_conversation(runtime, "a", "BP-482913", "10115")
    unknown = one_conversation(runtime, "b", "BP-999999", "10115")
    assert wrong == unknown == (["utter_order_not_found"], None)
    # Unknown numbers are counted and locked too (enumeration), and then read the same.
    locked_wrong = one_conversation(runtime, "c", "BP-482913", "20357")
    locked_unknown = one_conversation(runtime, "d", "BP-999999", "20357")
    locked_right = one_conversation(runtime, "e", *RIGHT)
    assert locked_wrong == locked_unknown == locked_right
    assert locked_right[1] == {"reason": "order_locked", "followup": "action_handoff"}


def test_lock_and_window_end_after_the_configured_time(tmp_path: Path) -> None:
    runtime = runtime_for(
        tmp_path, ORDER_LOOKUP_MAX_FAILURES="3", ORDER_LOOKUP_WINDOW_MINUTES="10",
        ORDER_LOOKUP_LOCK_MINUTES="30",
    )
    moment = [NOW]
    runtime.clock = lambda: moment[0]
    for i in range(2):
        assert one_conversation(runtime, f"s{i}", "BP-482913", "10115")[1] is None
    moment[0] = NOW + timedelta(minutes=11)  # the window is over: the count starts again
    for i in range(2):
        assert one_conversation(runtime, f"t{i}", "BP-482913", "10115")[1] is None
    assert one_conversation(runtime, "u", "BP-482913", "10115")[1] is not None  # locked
    moment[0] += timedelta(minutes=29)
    assert one_conversation(runtime, "v", *RIGHT)[1] is not None  # still locked
    moment[0] += timedelta(minutes=2)
    text, handoff = one_conversation(runtime, "w", *RIGHT)
    assert handoff is None and "unterwegs" in text[0]


def test_three_tries_in_one_conversation_still_hand_over(tmp_path: Path) -> None:
    runtime = runtime_for(tmp_path)
    form = ValidateOrderStatusForm(runtime)
    failures = 0.0
    for postcode in ("10115", "20357"):
        dispatcher = CollectingDispatcher()
        slots = asyncio.run(form.validate_postal_code(
            postcode, dispatcher,
            tracker("one", {"order_number": "BP-482913", "order_lookup_failures": failures}), {},
        ))
        assert slots["postal_code"] is None and said(dispatcher) == ["utter_order_not_found"]
        failures = slots["order_lookup_failures"]
    slots = asyncio.run(form.validate_postal_code(
        "50667", CollectingDispatcher(),
        tracker("one", {"order_number": "BP-482913", "order_lookup_failures": failures}), {},
    ))
    assert slots == {"postal_code": "50667", "order_lookup_failures": 3.0}
    events = asyncio.run(ActionOrderStatus(runtime).run(
        CollectingDispatcher(), tracker("one", {"order_number": "BP-482913", **slots}), {}
    ))
    assert {"event": "slot", "timestamp": None, "name": "handoff_reason",
            "value": "order_lookup_failed"} in events


def test_unavailable_database_hands_over_instead_of_failing(tmp_path: Path) -> None:
    runtime = runtime_for(tmp_path)
    database = tmp_path / "support.db"
    runtime.support = session_factory(
        create_engine(f"sqlite:///{database}", connect_args={"timeout": 0.2})
    )
    blocker = sqlite3.connect(database, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    try:
        text, handoff = one_conversation(runtime, "x", *RIGHT)
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert text == one_conversation(runtime_for(tmp_path / "b", ORDER_LOOKUP_MAX_FAILURES="1"),
                                    "y", "BP-999999", "10115")[0]
    assert handoff == {"reason": "order_lookup_failed", "followup": "action_handoff"}


def test_a_slot_set_outside_the_form_is_checked_again(tmp_path: Path) -> None:
    runtime = runtime_for(tmp_path)
    events = asyncio.run(ActionOrderStatus(runtime).run(
        CollectingDispatcher(),
        tracker("z", {"order_number": "x" * 5000, "postal_code": "80331"}), {},
    ))
    assert any(e.get("name") == "action_handoff" for e in events)
    with runtime.support() as session:
        assert session.execute(select(OrderLookupGuard)).first() is None
