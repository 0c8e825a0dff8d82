from pathlib import Path

import pytest

from bot.database import make_engine, session_factory
from bot.seed import DEMO_ORDERS, seed_shop
from bot.shop import (
    ORDER_STATUSES,
    describe_status,
    find_order,
    normalize_order_number,
    normalize_postal_code,
)


@pytest.mark.parametrize(
    "text",
    ["BP-482913", "bp 482913", "482913", "Bp482913", "meine nummer ist BP 482913!", "#482913"],
)
def test_order_numbers_are_accepted_in_customer_spellings(text: str) -> None:
    assert normalize_order_number(text) == "BP-482913"


@pytest.mark.parametrize("text", ["", "48291", "4829133", "weiß ich nicht", "BP-12a456"])
def test_non_order_numbers_are_rejected(text: str) -> None:
    assert normalize_order_number(text) is None


def test_postal_codes_ignore_the_order_number() -> None:
    assert normalize_postal_code("80331") == "80331"
    assert normalize_postal_code("plz 1010 wien") == "1010"
    assert normalize_postal_code("BP-482913") is None
    assert normalize_postal_code("keine ahnung") is None


def test_demo_shop_has_every_status_and_lookup_needs_number_and_postcode(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'shop.db'}")
    assert seed_shop(engine) == len(DEMO_ORDERS) >= 20
    assert seed_shop(engine) == len(DEMO_ORDERS)  # idempotent
    factory = session_factory(engine)
    with factory() as session:
        statuses = set()
        for number, postal_code, _city, status, _age in DEMO_ORDERS:
            order = find_order(session, number, postal_code)
            assert order is not None and order.status == status
            statuses.add(status)
            text = describe_status(order)
            assert number in text
            if status == "shipped":
                assert order.tracking_url and order.tracking_url in text
        assert statuses == set(ORDER_STATUSES)
        assert find_order(session, "BP-482913", "10115") is None  # wrong postcode
        assert find_order(session, "BP-999999", "80331") is None  # unknown number
