"""Per-topic helpfulness from the answer_ratings table: counts, the minimum-count rule, weakest
first; the trainer CLI prints the same (real SQLite support database)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Iterable, Tuple

import pytest

from bot.answers.feedback import (
    MIN_RATINGS,
    ensure_table,
    read_helpfulness,
    record_answer_rating,
    wilson_bounds,
)
from bot.cli import main
from bot.database import make_engine, session_factory, transaction

NOW = datetime(2026, 11, 30, 12, 0)


def plant(url: str, ratings: Iterable[Tuple[str, bool]]) -> None:
    engine = make_engine(url)
    ensure_table(engine)
    with transaction(session_factory(engine)) as session:
        for index, (topic, helpful) in enumerate(ratings):
            assert record_answer_rating(
                session, sender_id=f"c{index}", topic=f"faq/{topic}", helpful=helpful,
                channel="rest", answer_at=1000.0 + index, now=NOW,
            )
    engine.dispose()


def mixed() -> list[Tuple[str, bool]]:
    """returns: 6 of 20 helpful (surely weak); shipping: 9 of 10; warranty: 0 of 1 (too few);
    vouchers: 2 of 6 (weak, but less sure than returns)."""
    return (
        [("return_policy", i < 6) for i in range(20)]
        + [("shipping_costs", i < 9) for i in range(10)]
        + [("warranty", False)]
        + [("voucher", i < 2) for i in range(6)]
    )


def test_weakest_first_with_enough_ratings_then_the_few(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'support.db'}"
    plant(url, mixed())

    rows = read_helpfulness(url)

    assert [r.topic for r in rows] == [
        "faq/return_policy", "faq/voucher", "faq/shipping_costs", "faq/warranty"
    ]
    returns = rows[0]
    assert (returns.helpful, returns.unhelpful, returns.total) == (6, 14, 20)
    assert returns.share == pytest.approx(0.3)
    assert rows[-1].total < MIN_RATINGS and not rows[-1].enough


def test_the_same_answer_is_stored_once(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'support.db'}")
    ensure_table(engine)
    with transaction(session_factory(engine)) as session:
        first = record_answer_rating(session, sender_id="c", topic="faq/voucher", helpful=True,
                                     channel="rest", answer_at=5.0)
    with transaction(session_factory(engine)) as session:
        again = record_answer_rating(session, sender_id="c", topic="faq/voucher", helpful=False,
                                     channel="rest", answer_at=5.0)
    assert (first, again) == (True, False)
    engine.dispose()


def test_wilson_bounds_are_known_values() -> None:
    low, high = wilson_bounds(6, 20)
    assert low == pytest.approx(0.1455, abs=1e-3) and high == pytest.approx(0.5190, abs=1e-3)
    assert wilson_bounds(0, 0) == (0.0, 1.0)


def test_cli_prints_the_weakest_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("BOT_VAR_DIR", str(tmp_path))
    monkeypatch.delenv("SUPPORT_DB_URL", raising=False)
    from bot.settings import load_settings

    plant(load_settings().support_db_url, mixed())

    assert main(["faq", "helpfulness"]) == 0

    lines = capsys.readouterr().out.splitlines()
    topics = [line.split()[0] for line in lines[2:]]
    assert topics == ["return_policy", "voucher", "shipping_costs", "warranty"]
    assert lines[2].split()[1:5] == ["6", "14", "20", "30"]
    assert lines[-1].split()[-2:] == ["–", "–"]  # one rating: no share shown
