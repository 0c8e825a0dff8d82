"""``python -m bot telegram ...`` registers the webhook at the (fake) Bot API."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Dict, Iterator, List

import pytest

from bot.settings import PROJECT_ROOT
from tests.channels.fakes import FakeTelegram

TOKEN = "77:cli-test"
SECRET = "cli-secret-token"


@pytest.fixture()
def telegram() -> Iterator[FakeTelegram]:
    with FakeTelegram(TOKEN) as fake:
        yield fake


def run_cli(args: List[str], env: Dict[str, str]) -> "subprocess.CompletedProcess[str]":
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "TWILIO_"))}
    clean.pop("PUBLIC_BASE_URL", None)
    clean.update(env)
    return subprocess.run(
        [sys.executable, "-m", "bot", "telegram", *args],
        cwd=PROJECT_ROOT, env=clean, capture_output=True, text=True, timeout=60,
    )


def test_set_webhook_info_and_delete(telegram: FakeTelegram, tmp_path: object) -> None:
    env = {
        "TELEGRAM_TOKEN": TOKEN,
        "TELEGRAM_SECRET_TOKEN": SECRET,
        "TELEGRAM_API_BASE_URL": telegram.url,
        "PUBLIC_BASE_URL": "https://bot.example.test",
        "BOT_VAR_DIR": str(tmp_path),
    }
    result = run_cli(["set-webhook", "--drop-pending-updates"], env)
    assert result.returncode == 0, result.stderr
    [call] = telegram.calls_of("setWebhook")
    assert call.params["url"] == "https://bot.example.test/webhooks/telegram/webhook"
    assert call.params["secret_token"] == SECRET
    assert call.params["allowed_updates"] == [
        "message", "edited_message", "callback_query", "my_chat_member"
    ]
    assert call.params["drop_pending_updates"] is True
    assert "@paula_bot" in result.stdout

    info = run_cli(["info"], env)
    assert info.returncode == 0, info.stderr
    assert "https://bot.example.test/webhooks/telegram/webhook" in info.stdout

    deleted = run_cli(["delete-webhook"], env)
    assert deleted.returncode == 0 and telegram.calls_of("deleteWebhook")


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({}, "TELEGRAM_TOKEN"),
        ({"TELEGRAM_TOKEN": TOKEN, "TELEGRAM_SECRET_TOKEN": SECRET}, "PUBLIC_BASE_URL"),
        (
            {"TELEGRAM_TOKEN": TOKEN, "TELEGRAM_SECRET_TOKEN": SECRET,
             "PUBLIC_BASE_URL": "http://plain.example"},
            "https://",
        ),
    ],
)
def test_set_webhook_explains_what_is_missing(
    telegram: FakeTelegram, tmp_path: object, env: Dict[str, str], message: str
) -> None:
    env = {**env, "TELEGRAM_API_BASE_URL": telegram.url, "BOT_VAR_DIR": str(tmp_path)}
    result = run_cli(["set-webhook"], env)
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr
    assert telegram.calls_of("setWebhook") == []


def test_a_wrong_token_is_reported_clearly(telegram: FakeTelegram, tmp_path: object) -> None:
    env = {
        "TELEGRAM_TOKEN": "99:wrong",
        "TELEGRAM_SECRET_TOKEN": SECRET,
        "TELEGRAM_API_BASE_URL": telegram.url,
        "PUBLIC_BASE_URL": "https://bot.example.test",
        "BOT_VAR_DIR": str(tmp_path),
    }
    result = run_cli(["info"], env)
    assert result.returncode == 2
    assert "TELEGRAM_TOKEN" in result.stderr
