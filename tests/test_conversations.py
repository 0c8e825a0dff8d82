"""Whole conversations against the real trained model, Rasa server and action server."""

from __future__ import annotations

import uuid
from typing import Any, Dict, List

import pytest
import yaml
from sqlalchemy import select

from bot.database import make_engine, session_factory
from bot.models import Handoff
from bot.settings import PROJECT_ROOT
from tests._stack import Stack

pytestmark = pytest.mark.slow

TOPICS = yaml.safe_load((PROJECT_ROOT / "actions/topics.yml").read_text(encoding="utf-8"))
DOMAIN = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text(encoding="utf-8"))


def new_customer() -> str:
    return f"test-{uuid.uuid4().hex[:12]}"


def texts(answers: List[Dict[str, Any]]) -> str:
    return "\n".join(a.get("text", "") for a in answers)


def handoffs(stack: Stack, sender: str) -> List[Handoff]:
    factory = session_factory(make_engine(stack.settings.support_db_url))
    with factory() as session:
        return list(session.execute(select(Handoff).where(Handoff.sender_id == sender)).scalars())


def is_paused(stack: Stack, sender: str) -> bool:
    return bool(stack.tracker(sender)["paused"])


def faq_answer(topic: str) -> str:
    return str(DOMAIN["responses"][f"utter_faq/{topic}"][0]["text"])


def test_greeting_and_honest_bot_answer(stack: Stack) -> None:
    sender = new_customer()
    assert "Paula" in texts(stack.send(sender, "Hallo!"))
    assert "digitale Assistent" in texts(stack.send(sender, "bist du ein echter mensch?"))


@pytest.mark.parametrize(
    ("message", "topic"),
    [
        ("was kostet der versand nach österreich", "shipping_costs"),
        ("wie lange dauert die lieferung", "delivery_time"),
        ("ich hab mein passwort vergessen", "password_reset"),
        ("kann ich in raten zahlen", "installments"),
    ],
)
def test_faq_questions_get_their_answer(stack: Stack, message: str, topic: str) -> None:
    assert texts(stack.send(new_customer(), message)) == faq_answer(topic)


def test_every_ask_back_button_leads_to_its_answer(stack: Stack) -> None:
    """Tapping a topic button sends its question; each must be answered with that topic."""
    wrong = {}
    for topic, entry in TOPICS.items():
        answer = texts(stack.send(new_customer(), entry["question"]))
        if answer != faq_answer(topic):
            wrong[topic] = answer[:80]
    assert wrong == {}


def test_unsure_bot_asks_back_once_then_hands_over(stack: Stack) -> None:
    sender = new_customer()
    first = stack.send(sender, "hmm ja also wegen dem ding da neulich")
    assert "nicht ganz sicher" in texts(first) or "nicht verstanden" in texts(first)
    buttons = [b for a in first for b in a.get("buttons", [])]
    assert {"title": "Mit einem Menschen sprechen", "payload": "/request_human"} in buttons
    assert not handoffs(stack, sender)
    second = stack.send(sender, "hm naja, so halt, das eben, du weisst schon")
    assert "Team" in texts(second)
    [record] = handoffs(stack, sender)
    assert record.reason == "repeated_fallback"
    assert is_paused(stack, sender)


def test_explicit_request_for_a_person_hands_over_at_once(stack: Stack) -> None:
    sender = new_customer()
    answer = texts(stack.send(sender, "Ich möchte bitte mit einem Mitarbeiter sprechen"))
    assert "Team" in answer
    [record] = handoffs(stack, sender)
    assert record.reason == "customer_request"
    assert record.channel == "rest"
    assert is_paused(stack, sender)
    # Paused: the bot stays quiet, the message is still logged for the agent.
    assert stack.send(sender, "hallo? ist da wer?") == []
    events = stack.tracker(sender)["events"]
    assert [e["text"] for e in events if e["event"] == "user"][-1] == "hallo? ist da wer?"


def test_an_english_request_for_a_person_hands_over_in_english(stack: Stack) -> None:
    sender = new_customer()
    answer = texts(stack.send(sender, "Hi, could someone from your team call me back please?"))
    assert answer.startswith("I'm passing your request to my team"), answer
    assert "in English" in answer
    [record] = handoffs(stack, sender)
    assert record.reason == "customer_request"
    assert is_paused(stack, sender)


def test_the_english_reply_offers_a_colleague_and_connects_in_english(stack: Stack) -> None:
    sender = new_customer()
    offer = stack.send(sender, "hello, do you ship to the UK?")
    assert "colleague from our team can help you in English" in texts(offer)
    [connect] = [b for b in offer[0]["buttons"] if b["payload"] == "/request_human"]
    answer = texts(stack.send(sender, connect["payload"]))
    assert answer.startswith("I'm passing your request to my team"), answer
    assert len(handoffs(stack, sender)) == 1


def test_angry_customer_is_handed_over(stack: Stack) -> None:
    sender = new_customer()
    stack.send(
        sender,
        "Das ist eine absolute Frechheit!!! Seit drei Wochen warte ich und keiner meldet sich",
    )
    [record] = handoffs(stack, sender)
    assert record.reason == "complaint"


def test_order_status_happy_path(stack: Stack) -> None:
    sender = new_customer()
    assert "Bestellnummer" in texts(stack.send(sender, "wo bleibt meine bestellung?"))
    assert "Postleitzahl" in texts(stack.send(sender, "bp 482913"))
    answer = texts(stack.send(sender, "80331"))
    assert "BP-482913" in answer and "unterwegs" in answer and "dhl.de" in answer


def test_order_number_in_the_first_message_is_used(stack: Stack) -> None:
    sender = new_customer()
    assert "Postleitzahl" in texts(stack.send(sender, "Wo ist meine Bestellung BP-100011?"))
    assert "zugestellt" in texts(stack.send(sender, "90402"))


def test_invalid_input_is_reprompted_in_german(stack: Stack) -> None:
    sender = new_customer()
    stack.send(sender, "bestellstatus bitte")
    assert "sechs Ziffern" in texts(stack.send(sender, "keine ahnung wo die steht"))
    stack.send(sender, "482913")
    # A postal code with a letter o for a zero. ("weiss ich nicht" was used here; the fully trained
    # previous model and the shipped one both read it as `stop` and cancel the search – only
    # the 40-epoch test model of the previous config was unsure of it.)
    assert "5 Ziffern" in texts(stack.send(sender, "8o331"))


def test_wrong_postcode_three_times_hands_over_without_leaking(stack: Stack) -> None:
    sender = new_customer()
    stack.send(sender, "wo ist meine bestellung")
    replies = []
    for postcode in ("10115", "20357", "50667"):
        stack.send(sender, "BP-482913")
        replies.append(texts(stack.send(sender, postcode)))
    unknown = new_customer()
    stack.send(unknown, "wo ist meine bestellung")
    stack.send(unknown, "BP-999999")
    # Unknown number and wrong postcode read the same: nothing leaks.
    assert texts(stack.send(unknown, "10115")) == replies[0]
    assert "keine Bestellung gefunden" in replies[0]
    assert "Team" in replies[2]
    [record] = handoffs(stack, sender)
    assert record.reason == "order_lookup_failed"
    assert record.order_number == "BP-482913"
    assert is_paused(stack, sender)


def test_customer_can_leave_the_order_form(stack: Stack) -> None:
    sender = new_customer()
    stack.send(sender, "wo ist meine bestellung")
    assert "abgebrochen" in texts(stack.send(sender, "ach egal, abbrechen"))
    # After leaving, a FAQ question gets the FAQ answer, not an order-number re-prompt.
    assert texts(stack.send(sender, "was kostet der versand")) == faq_answer("shipping_costs")


def test_faq_inside_the_order_form_is_answered_and_the_form_goes_on(stack: Stack) -> None:
    sender = new_customer()
    stack.send(sender, "wo ist meine bestellung")
    answer = texts(stack.send(sender, "wie lange habe ich rückgaberecht?"))
    assert faq_answer("return_policy") in answer
    assert "Bestellnummer" in answer


def test_locked_support_database_loses_no_handoff(stack: Stack) -> None:
    """Another writer holds the support DB: the customer is still told and paused, and the
    inbox's broker consumer records the handoff from Rasa's event broker afterwards."""
    import sqlite3
    from datetime import datetime

    import bot.inbox._models  # noqa: F401 - the inbox's tables
    from bot.database import transaction
    from bot.inbox._broker import SqlBrokerReader, process_rows
    from bot.models import SupportBase

    sender = new_customer()
    database = stack.settings.support_db_url[len("sqlite:///"):]
    blocker = sqlite3.connect(database, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")  # the action server waits its busy timeout, then gives up
    try:
        answer = texts(stack.send(sender, "Ich möchte bitte mit einem Mitarbeiter sprechen"))
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert "Team" in answer
    assert is_paused(stack, sender)
    assert not handoffs(stack, sender)
    reader = SqlBrokerReader(f"sqlite:///{stack.settings.var_dir / 'events.db'}")
    try:
        rows = [row for row in reader.read_after(0, 100_000) if row.sender_id == sender]
    finally:
        reader.close()
    engine = make_engine(stack.settings.support_db_url)
    SupportBase.metadata.create_all(engine)
    with transaction(session_factory(engine)) as session:
        process_rows(session, rows, datetime.utcnow())
    [record] = handoffs(stack, sender)
    assert (record.reason, record.channel, record.status) == ("customer_request", "rest", "open")


def test_a_new_conversation_per_guess_gets_no_new_tries(stack: Stack) -> None:
    """The attack: a new sender id per postcode guess. BP-100004 is used by no other test."""
    replies = []
    for postcode in ("10115", "20357", "50667", "70173", "01067"):
        guesser = new_customer()
        stack.send(guesser, "wo ist meine bestellung BP-100004")
        replies.append(texts(stack.send(guesser, postcode)))
    assert "keine Bestellung gefunden" in replies[0]
    assert "Team" in replies[4]  # the 5th failure within the hour locks the number
    customer = new_customer()
    stack.send(customer, "wo ist meine bestellung BP-100004")
    answer = texts(stack.send(customer, "60311"))  # the right postcode
    assert "gepackt" not in answer and answer == replies[4]
    [record] = handoffs(stack, customer)
    assert (record.reason, record.order_number) == ("order_locked", "BP-100004")
    assert is_paused(stack, customer)


def test_two_questions_in_one_message_get_both_answers_in_order(stack: Stack) -> None:
    message = "was kostet der versand? und kann ich mit paypal zahlen"
    answer = texts(stack.send(new_customer(), message))
    costs, paying = faq_answer("shipping_costs"), faq_answer("payment_methods")
    assert costs in answer and paying in answer, answer[:300]
    assert answer.index(costs) < answer.index(paying)
