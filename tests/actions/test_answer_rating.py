""""Did it help?" after an FAQ answer, end to end: real Rasa + action server, the REST channel
and WhatsApp (fake Twilio), the real support database."""

from __future__ import annotations

import uuid
from functools import lru_cache
from typing import Any, Dict, List

import pytest
import yaml
from sqlalchemy import select

from bot.answers.feedback import AnswerRating, ensure_table
from bot.database import make_engine, session_factory
from bot.settings import PROJECT_ROOT
from tests._stack import Stack
from tests.channels.harness import ChannelStack, new_whatsapp_number, wait_until

pytestmark = pytest.mark.slow

SHIPPING = "was kostet bei euch der versand"
HELPFUL = "/answer_helpful"
UNHELPFUL = "/answer_unhelpful"
TYPED_QUESTION = "Hat dir das geholfen? Antworte einfach mit ja oder nein."


@lru_cache(maxsize=1)
def responses() -> Dict[str, str]:
    domain = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text(encoding="utf-8"))
    return {name: str(v[0]["text"]) for name, v in domain["responses"].items()}


def text_of(response: str) -> str:
    return responses()[response]


def new_sender() -> str:
    return "rating-" + uuid.uuid4().hex[:12]


def payloads(answers: List[Dict[str, Any]]) -> List[str]:
    return [str(b.get("payload")) for a in answers for b in a.get("buttons") or []]


def ratings_of(stack: Stack, sender: str) -> List[AnswerRating]:
    engine = make_engine(stack.settings.support_db_url)
    try:
        ensure_table(engine)
        with session_factory(engine)() as session:
            return list(
                session.execute(select(AnswerRating).where(AnswerRating.sender_id == sender))
                .scalars()
            )
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def stack(channel_stack: ChannelStack) -> Stack:
    return channel_stack.stack


def test_faq_answer_offers_thumbs_and_a_press_records_one_rating(stack: Stack) -> None:
    sender = new_sender()
    answers = stack.send(sender, SHIPPING)
    assert answers[0]["text"] == text_of("utter_faq/shipping_costs")
    assert payloads(answers) == [HELPFUL, UNHELPFUL]
    assert [b["title"] for b in answers[0]["buttons"]] == ["👍 Hat geholfen", "👎 Nicht wirklich"]

    thanks = stack.send(sender, HELPFUL)

    assert [a["text"] for a in thanks] == [text_of("utter_answer_helpful")]
    [rating] = ratings_of(stack, sender)
    assert (rating.topic, rating.helpful, rating.channel) == ("faq/shipping_costs", True, "rest")
    slot = stack.tracker(sender)["slots"]["answer_rating"]
    assert slot == {"topic": "faq/shipping_costs", "helpful": True, "channel": "rest"}


def test_after_one_rating_no_more_offers_and_no_second_rating(stack: Stack) -> None:
    sender = new_sender()
    stack.send(sender, SHIPPING)
    stack.send(sender, HELPFUL)

    answers = stack.send(sender, "wie lange dauert die lieferung")

    assert answers[0]["text"] == text_of("utter_faq/delivery_time")
    assert payloads(answers) == []
    # The old button is still on screen (Telegram keeps it): pressed again, nothing is stored.
    again = stack.send(sender, UNHELPFUL)
    assert again and "Schade" in again[0]["text"]
    assert [(r.topic, r.helpful) for r in ratings_of(stack, sender)] == [
        ("faq/shipping_costs", True)
    ]


def test_a_new_question_instead_of_a_rating_is_answered_and_nothing_recorded(
    stack: Stack,
) -> None:
    sender = new_sender()
    stack.send(sender, SHIPPING)

    answers = stack.send(sender, "kann ich mit paypal bezahlen")

    assert answers[0]["text"] == text_of("utter_faq/payment_methods")
    assert payloads(answers) == [HELPFUL, UNHELPFUL]  # the new answer may be rated
    assert ratings_of(stack, sender) == []
    # A late press of the first answer's button no longer rates the first answer.
    stack.send(sender, "danke")
    late = stack.send(sender, HELPFUL)
    assert [a["text"] for a in late] == [text_of("utter_answer_helpful")]
    assert ratings_of(stack, sender) == []


def test_thumbs_down_offers_a_colleague_and_rephrasing(stack: Stack) -> None:
    sender = new_sender()
    stack.send(sender, SHIPPING)

    answers = stack.send(sender, UNHELPFUL)

    assert [a["text"] for a in answers] == [text_of("utter_answer_unhelpful")]
    assert "anders" in answers[0]["text"]
    assert payloads(answers) == ["/request_human"]
    [rating] = ratings_of(stack, sender)
    assert (rating.topic, rating.helpful) == ("faq/shipping_costs", False)
    # The colleague button works (it was offered, so the channel guard lets it through).
    handoff = stack.send(sender, "/request_human")
    assert handoff and "Team" in " ".join(a.get("text") or "" for a in handoff)


def test_typed_ja_and_nein_rate_right_after_the_answer(stack: Stack) -> None:
    yes, no = new_sender(), new_sender()
    stack.send(yes, SHIPPING)
    stack.send(no, "wie lange habe ich garantie auf einen rucksack")

    assert [a["text"] for a in stack.send(yes, "ja")] == [text_of("utter_answer_helpful")]
    assert [a["text"] for a in stack.send(no, "nein")] == [text_of("utter_answer_unhelpful")]

    assert [(r.topic, r.helpful) for r in ratings_of(stack, yes)] == [("faq/shipping_costs", True)]
    assert [(r.topic, r.helpful) for r in ratings_of(stack, no)] == [("faq/warranty", False)]


def test_typed_hat_geholfen_rates_the_answer(stack: Stack) -> None:
    sender = new_sender()
    stack.send(sender, SHIPPING)
    assert [a["text"] for a in stack.send(sender, "hat nicht geholfen")] == [
        text_of("utter_answer_unhelpful")
    ]
    assert [r.helpful for r in ratings_of(stack, sender)] == [False]


def test_whatsapp_asks_in_words_and_a_typed_ja_is_recorded(
    channel_stack: ChannelStack,
) -> None:
    number = new_whatsapp_number()
    twilio = channel_stack.twilio

    def bodies() -> List[str]:
        calls = twilio.calls_of("messages", lambda c: c.params.get("To") == number)
        return [str(c.params.get("Body", "")) for c in calls]

    assert channel_stack.post_whatsapp(channel_stack.whatsapp_message(number, SHIPPING)) == 200
    wait_until(lambda: len(bodies()) >= 1)
    assert bodies()[0] == f"{text_of('utter_faq/shipping_costs')}\n\n{TYPED_QUESTION}"
    assert "1." not in bodies()[0].split(TYPED_QUESTION)[0][-40:]  # no numbered buttons

    assert channel_stack.post_whatsapp(channel_stack.whatsapp_message(number, "ja")) == 200
    wait_until(lambda: len(bodies()) >= 2)
    assert bodies()[1] == text_of("utter_answer_helpful")
    wait_until(lambda: len(ratings_of(channel_stack.stack, number)) == 1)
    [rating] = ratings_of(channel_stack.stack, number)
    assert (rating.topic, rating.helpful, rating.channel) == (
        "faq/shipping_costs", True, "whatsapp"
    )


def test_no_rating_offer_after_order_status_or_handoff(stack: Stack) -> None:
    sender = new_sender()
    asked = stack.send(sender, "wo ist meine bestellung")
    assert payloads(asked) == []
    stack.send(sender, "BP-482913")
    status = stack.send(sender, "80331")
    assert status and payloads(status) == []
    # A "nein" after the order status is a plain no, not a rating.
    assert [a["text"] for a in stack.send(sender, "nein")] == [text_of("utter_deny")]

    person = new_sender()
    handed = stack.send(person, "ich will mit einem menschen sprechen")
    assert handed and HELPFUL not in payloads(handed)
    assert stack.send(person, "ja") == []  # paused: the bot stays quiet, nothing rated

    assert ratings_of(stack, sender) == [] and ratings_of(stack, person) == []


def test_faq_inside_the_order_form_offers_no_rating(stack: Stack) -> None:
    sender = new_sender()
    stack.send(sender, "wo ist meine bestellung")
    answers = stack.send(sender, SHIPPING)
    assert answers[0]["text"] == text_of("utter_faq/shipping_costs")
    assert payloads(answers) == []


def tracker_of(events: List[Dict[str, Any]], rated: Any = None) -> Any:
    from rasa_sdk import Tracker

    return Tracker(
        sender_id="c1", slots={"answer_rating": rated}, latest_message=events[-1],
        events=events, paused=False, followup_action=None, active_loop={},
        latest_action_name="action_listen",
    )


def test_only_the_reply_to_the_asking_answer_of_this_session_is_a_rating() -> None:
    from actions.answer_rating import Offer, pending_offer

    asked = {"event": "bot", "text": "…", "timestamp": 7.5,
             "metadata": {"utter_action": "utter_faq/voucher",
                          "answer_rating_offer": "faq/voucher"}}
    yes = {"event": "user", "text": "ja"}
    assert pending_offer(tracker_of([asked, yes])) == Offer("faq/voucher", 7.5)
    assert pending_offer(tracker_of([asked, yes], rated={"helpful": True})) is None
    assert pending_offer(tracker_of([asked, {"event": "user", "text": "hm"}, yes])) is None
    # An hour later Rasa starts a new session: the old answer is not rated by a "ja".
    restarted = [asked, {"event": "session_started"}, {"event": "action", "name": "x"}, yes]
    assert pending_offer(tracker_of(restarted)) is None


def test_telegram_shows_the_thumbs_as_inline_buttons_and_a_tap_rates(
    channel_stack: ChannelStack,
) -> None:
    from tests.channels.harness import new_chat_id

    chat = new_chat_id()
    telegram = channel_stack.telegram

    def to_chat(call: Any) -> bool:
        return str(call.params.get("chat_id")) == str(chat)

    channel_stack.post_telegram(telegram.text_update(chat, SHIPPING))
    [answer] = telegram.wait_for("sendMessage", to_chat)
    assert answer.params["text"] == text_of("utter_faq/shipping_costs")
    keyboard = answer.params["reply_markup"]["inline_keyboard"]
    assert [row[0]["text"] for row in keyboard] == ["👍 Hat geholfen", "👎 Nicht wirklich"]

    channel_stack.post_telegram(telegram.callback_update(chat, keyboard[0][0]["callback_data"]))
    answers = telegram.wait_for("sendMessage", to_chat, count=2)
    assert answers[-1].params["text"] == text_of("utter_answer_helpful")
    wait_until(lambda: len(ratings_of(channel_stack.stack, str(chat))) == 1)
    [rating] = ratings_of(channel_stack.stack, str(chat))
    assert (rating.topic, rating.helpful, rating.channel) == (
        "faq/shipping_costs", True, "telegram"
    )
