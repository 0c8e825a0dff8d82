"""OrdersFromOtherShops: an order placed at another shop is out of scope, not looked up."""

from __future__ import annotations

from typing import Optional

import pytest
import yaml
from rasa.shared.nlu.training_data.message import Message

from bot.nlu.other_shops import OrdersFromOtherShops
from bot.settings import PROJECT_ROOT

SHOPS = OrdersFromOtherShops({
    "faq_topics": ["wrong_or_missing_item", "return_policy"],
    "shops": ["zalando", "about you", "sport schuster", "h&m", "otto"],
})


def _read_as(text: str, name: str, topic: Optional[str] = None) -> Message:
    message = Message({"text": text})
    message.set("intent", {"name": name, "confidence": 0.9}, add_to_output=True)
    message.set("intent_ranking", [{"name": name, "confidence": 0.9}], add_to_output=True)
    if topic:
        message.set("response_selector", {"faq": {"response": {
            "intent_response_key": topic}}}, add_to_output=True)
    return message


@pytest.mark.parametrize("text, name, topic", [
    ("mein Zalando paket ist immer noch nicht da", "order_status", None),
    ("wo bleibt meine lieferung von aboutyou??", "order_status", None),
    ("sendung GT-88213 von Sport-Schuster", "inform", None),
    ("hab über otto bestellt und die falsche farbe bekommen", "faq",
     "faq/wrong_or_missing_item"),
    ("kann ich meine H&M hose bei euch zurückgeben", "faq", "faq/return_policy"),
])
def test_an_order_at_another_shop_is_out_of_scope(
    text: str, name: str, topic: Optional[str]
) -> None:
    message = _read_as(text, name, topic)
    SHOPS.process([message])
    assert message.get("intent") == {"name": "out_of_scope", "confidence": 0.9}
    assert message.get("intent_ranking")[0]["name"] == "out_of_scope"


@pytest.mark.parametrize("text, name, topic", [
    ("wo ist mein paket? BP-123456", "order_status", None),
    ("ist das bei euch günstiger als bei zalando?", "faq", "faq/price_match"),
    ("ich hab ein hemd in der ottobock klinik vergessen", "order_status", None),
    ("bestellt hab ich mit meinem mann otto zusammen", "greet", None),
])
def test_other_messages_keep_their_meaning(text: str, name: str, topic: Optional[str]) -> None:
    message = _read_as(text, name, topic)
    SHOPS.process([message])
    assert message.get("intent")["name"] == name


def _shipped() -> OrdersFromOtherShops:
    """The component as config.yml configures it (its real shop list)."""
    pipeline = yaml.safe_load((PROJECT_ROOT / "config.yml").read_text(encoding="utf-8"))
    [config] = [c for c in pipeline["pipeline"] if c["name"].endswith(".OrdersFromOtherShops")]
    return OrdersFromOtherShops(config)


@pytest.mark.parametrize("text, elsewhere", [
    ("hab bei Otto bestellt und nix kam", True),
    ("mein otto-paket ist seit tagen unterwegs", True),
    ("meine AboutYou lieferung fehlt", True),
    ("hallo, hier ist Otto Meier, wo bleibt mein paket?", False),
    ("wo ist meine jacke in xxl", False),
    ("ist meine bestellung BP-123456 schon raus", False),
])
def test_the_shipped_shop_list(text: str, elsewhere: bool) -> None:
    message = _read_as(text, "order_status")
    _shipped().process([message])
    assert (message.get("intent")["name"] == "out_of_scope") is elsewhere
