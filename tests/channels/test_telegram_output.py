"""Telegram output against the fake Bot API with python-telegram-bot's real Bot (no Rasa)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Iterator

import pytest

from channels._inbound import LazyStore
from channels._retry import RetryPolicy
from channels._store import ChannelStore
from channels._telegram_api import make_bot
from channels._telegram_output import TelegramOutput
from tests.channels.fakes import FakeTelegram, telegram_error

TOKEN = "42:unit-test"


@pytest.fixture()
def telegram() -> Iterator[FakeTelegram]:
    with FakeTelegram(TOKEN) as fake:
        yield fake


def send(telegram: FakeTelegram, tmp_path: Path, text: str, retry: RetryPolicy) -> ChannelStore:
    store = LazyStore(f"sqlite:///{tmp_path / 'support.db'}")

    async def main() -> ChannelStore:
        output = TelegramOutput(make_bot(TOKEN, telegram.url), store, retry)
        await output.send_text_message("7", text)
        return await store.get()

    return asyncio.run(main())


def test_server_errors_are_retried_with_backoff(telegram: FakeTelegram, tmp_path: Path) -> None:
    telegram.fail("sendMessage", 502, telegram_error(502, "Bad Gateway"), times=2)
    store = send(telegram, tmp_path, "Hallo!", RetryPolicy(base_delay=0.05))
    assert [c.status for c in telegram.calls_of("sendMessage")] == [502, 502, 200]
    [delivery] = store.deliveries_for("telegram", "7")
    assert (delivery.status, delivery.attempts) == ("sent", 3)


def test_retries_are_bounded_and_the_failure_recorded(
    telegram: FakeTelegram, tmp_path: Path
) -> None:
    telegram.fail("sendMessage", 500, telegram_error(500, "Internal Server Error"), times=99)
    store = send(telegram, tmp_path, "Hallo!", RetryPolicy(attempts=3, base_delay=0.01))
    assert len(telegram.calls_of("sendMessage", None)) == 3
    [delivery] = store.deliveries_for("telegram", "7")
    assert (delivery.status, delivery.reason, delivery.text) == (
        "failed", "provider_unavailable", "Hallo!"
    )


def test_a_long_flood_wait_fails_fast_instead_of_stalling(
    telegram: FakeTelegram, tmp_path: Path
) -> None:
    telegram.fail("sendMessage", 429, telegram_error(429, "Too Many Requests", retry_after=3600))
    started = time.monotonic()
    store = send(telegram, tmp_path, "Hallo!", RetryPolicy(max_retry_after=5))
    assert time.monotonic() - started < 5
    assert store.deliveries_for("telegram", "7")[0].reason == "rate_limited"


def test_text_is_sent_verbatim_without_markup(telegram: FakeTelegram, tmp_path: Path) -> None:
    text = "Preis <b>4,95 €</b> & *fett* _kursiv_ [link](x)"
    send(telegram, tmp_path, text, RetryPolicy())
    [call] = telegram.calls_of("sendMessage")
    assert call.params["text"] == text and "parse_mode" not in call.params
