"""Follow-ups read with the topic just answered (actions/followup.py), on rasa-sdk trackers.

The whole path with the trained model is in tests/test_dialogues.py; here the decision rules
themselves: which previous topic counts, which follow-up wins, when the bot asks back.
"""

from __future__ import annotations

import asyncio
from typing import Any, Dict, List, Optional, Tuple

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.fallback import ActionHandleFallback
from actions.followup import (
    ActionAnswerFollowup,
    covered_by_answer,
    previous_topic,
    resolve_in_context,
)


def user(
    text: str, intent: str = "faq", ranking: Optional[List[Tuple[str, float]]] = None
) -> Dict[str, Any]:
    parse = {
        "text": text,
        "intent": {"name": intent, "confidence": 0.9},
        "intent_ranking": [{"name": intent, "confidence": 0.9}],
        "entities": [],
        "response_selector": {
            "faq": {
                "ranking": [
                    {"intent_response_key": f"faq/{topic}", "confidence": confidence}
                    for topic, confidence in (ranking or [])
                ]
            }
        },
    }
    return {"event": "user", "text": text, "parse_data": parse}


def bot(response: str) -> Dict[str, Any]:
    return {"event": "bot", "text": "…", "metadata": {"utter_action": response}}


def conversation(*events: Dict[str, Any]) -> Tracker:
    latest = [e for e in events if e["event"] == "user"][-1]["parse_data"]
    return Tracker(
        sender_id="c1",
        slots={},
        latest_message=latest,
        events=list(events),
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )


def run(action: Any, tracker: Tracker) -> Tuple[List[Dict[str, Any]], List[Dict[str, Any]]]:
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, tracker, {}))
    return dispatcher.messages, events


def test_same_topic_again_when_the_follow_up_names_no_other_topic() -> None:
    """ "und in salzburg?" after the shipping costs: the ranking of the bare words is noise."""
    ranking = [("return_policy", 0.29), ("installments", 0.05), ("return_label", 0.05)]
    assert resolve_in_context("shipping_costs", ranking, recognised=True) == "shipping_costs"


def test_a_related_topic_the_ranking_clearly_prefers_wins() -> None:
    ranking = [("voucher", 0.33), ("return_label", 0.07), ("gift_card", 0.04)]
    assert resolve_in_context("gift_card", ranking, recognised=True) == "voucher"


def test_a_related_topic_only_slightly_ahead_does_not_win() -> None:
    ranking = [("delivery_time", 0.15), ("shipping_costs", 0.09)]
    assert resolve_in_context("shipping_costs", ranking, recognised=True) == "shipping_costs"


def test_a_follow_up_about_what_the_previous_answer_covers_stays_on_it() -> None:
    answer = "Nach Österreich kostet er 9,95 €, in die Schweiz 14,95 €."
    assert covered_by_answer(answer, "und nach oesterreich?")
    assert not covered_by_answer(answer, "und nach frankreich?")
    ranking = [("shipping_countries", 0.7), ("shipping_costs", 0.1)]
    assert resolve_in_context("shipping_costs", ranking, covered=True) == "shipping_costs"
    assert resolve_in_context("shipping_costs", ranking) == "shipping_countries"


def test_unsure_message_far_from_the_previous_topic_is_not_clear() -> None:
    ranking = [(t, 0.1) for t in ("jobs", "warranty", "size_guide", "invoice", "contact")]
    assert resolve_in_context("shipping_costs", ranking) is None


def test_previous_topic_only_counts_right_after_its_answer() -> None:
    fresh = conversation(
        user("was kostet versand"), bot("utter_faq/shipping_costs"), user("und nach wien?")
    )
    assert previous_topic(fresh) == "shipping_costs"
    stale = conversation(
        user("was kostet versand"), bot("utter_faq/shipping_costs"),
        user("danke"), bot("utter_thanks"), user("hallo"), bot("utter_greet"),
        user("und nach wien?"),
    )
    assert previous_topic(stale) is None


def test_follow_up_answers_the_previous_topic_again() -> None:
    tracker = conversation(
        user("was kostet versand"),
        bot("utter_faq/shipping_costs"),
        user("und nach wien?", "faq_followup", [("delivery_time", 0.4), ("shipping_costs", 0.3)]),
    )
    messages, _ = run(ActionAnswerFollowup(), tracker)
    assert [m["response"] for m in messages] == ["utter_faq/shipping_costs"]


def test_unclear_message_after_an_answer_asks_back_with_the_previous_topic_first() -> None:
    tracker = conversation(
        user("gibts geschenkgutscheine"),
        bot("utter_faq/gift_card"),
        user("und das andere?", "nlu_fallback", [(t, 0.1) for t in ("jobs", "invoice", "contact",
                                                                    "warranty", "size_guide")]),
    )
    messages, _ = run(ActionHandleFallback(), tracker)
    [message] = messages
    assert message["response"] == "utter_ask_back"
    assert message["buttons"][0]["title"] == "Geschenkgutscheine"


def test_follow_up_without_a_previous_answer_asks_back_unless_the_answer_is_sure() -> None:
    unsure = conversation(
        user("und wie geht das?", "faq_followup", [("jobs", 0.2), ("invoice", 0.18)]),
    )
    messages, _ = run(ActionAnswerFollowup(), unsure)
    assert [m["response"] for m in messages] == ["utter_ask_back"]
    sure = conversation(
        user("und wie lange gilt der gutschein?", "faq_followup",
             [("gift_card", 0.8), ("voucher", 0.1)]),
    )
    messages, _ = run(ActionAnswerFollowup(), sure)
    assert [m["response"] for m in messages] == ["utter_faq/gift_card"]


def test_fallback_reads_a_short_message_after_an_answer_as_a_follow_up() -> None:
    tracker = conversation(
        user("wie lege ich ein konto an"),
        bot("utter_faq/create_account"),
        user("und wie werd ich es los", "nlu_fallback",
             [("delete_account", 0.3), ("create_account", 0.1)]),
    )
    messages, _ = run(ActionHandleFallback(), tracker)
    assert [m["response"] for m in messages] == ["utter_faq/delete_account"]


def test_a_resolved_follow_up_is_not_an_ask_back_so_the_next_miss_asks_back_again() -> None:
    tracker = conversation(
        user("wie lege ich ein konto an"),
        bot("utter_faq/create_account"),
        user("und wie werd ich es los"),
        bot("utter_faq/delete_account"),
        user("hmm naja das ding", "nlu_fallback", [(t, 0.1) for t in ("jobs", "invoice")]),
    )
    messages, events = run(ActionHandleFallback(), tracker)
    assert [m["response"] for m in messages] == ["utter_ask_back"]
    assert not any(e.get("name") == "action_handoff" for e in events)


def test_follow_up_without_a_previous_answer_that_reads_as_out_of_scope_goes_to_the_team() -> None:
    first = user("macht ihr auch skiservice, also kanten schleifen?", "faq_followup",
                 [("repair_service", 0.3), ("opening_hours", 0.2)])
    first["parse_data"]["intent_ranking"] = [
        {"name": "faq_followup", "confidence": 0.5},
        {"name": "out_of_scope", "confidence": 0.3},
        {"name": "faq", "confidence": 0.15},
    ]
    messages, events = run(ActionAnswerFollowup(), conversation(first))
    assert messages == []
    assert [(e["event"], e.get("name"), e.get("value")) for e in events] == [
        ("slot", "handoff_reason", "low_nlu_confidence"), ("followup", "action_handoff", None)]
    # After an answer the same message is read in that answer's context instead.
    after = conversation(user("wie lange repariert ihr"), bot("utter_faq/repair_service"), first)
    messages, events = run(ActionAnswerFollowup(), after)
    assert events == [] and len(messages) == 1
