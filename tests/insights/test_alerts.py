"""Alerts reach the team's fake Telegram group, SMTP server and webhook on loopback; a failing
target is retried with backoff and logged, and never holds up the others or the event loop;
quiet hours hold alerts until they end."""

from __future__ import annotations

import asyncio
import contextlib
import email
import logging
from datetime import datetime, timedelta
from email.policy import default as default_policy
from pathlib import Path
from typing import Any, Dict, Iterator, List, Tuple

import pytest
from aiohttp import web
from aiosmtpd.controller import Controller
from sqlalchemy import select

from bot.database import transaction
from bot.insights._models import AlertDelivery
from bot.insights._scenario import incident_start, plan
from bot.insights._worker import Insights, run_insights
from bot.settings import Settings
from tests._stack import free_port
from tests.channels.fakes import Call, FakeTelegram, _FakeServer
from tests.insights._history import settings_for, write_history
from tests.insights.test_detect import END

TOKEN = "123456:insights-test"
CHAT = "-1001234567890"


class FakeWebhook(_FakeServer):
    """A Slack/Teams-style incoming webhook: POST /hook with JSON."""

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/hook", self._handle)

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.json()
        failure = self._take_failure("hook", body)
        if failure is not None:
            await asyncio.sleep(failure.delay)
            self._record(Call("hook", body, status=failure.status))
            return web.json_response(failure.body, status=failure.status)
        self._record(Call("hook", body))
        return web.Response(text="ok")


class Mailbox:
    def __init__(self) -> None:
        self.messages: List[Tuple[List[str], email.message.EmailMessage]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=default_policy)
        self.messages.append((list(envelope.rcpt_tos), message))  # type: ignore[arg-type]
        return "250 OK"


@pytest.fixture()
def receivers() -> Iterator[Tuple[FakeTelegram, Mailbox, int, FakeWebhook]]:
    mailbox = Mailbox()
    port = free_port()
    smtp = Controller(mailbox, hostname="127.0.0.1", port=port)
    smtp.start()
    with FakeTelegram(TOKEN) as telegram, FakeWebhook() as hook:
        yield telegram, mailbox, port, hook
    smtp.stop()


def _settings(tmp: Path, telegram: FakeTelegram, smtp_port: int, hook: FakeWebhook,
              **extra: str) -> Settings:
    return settings_for(
        tmp, TELEGRAM_TOKEN=TOKEN, TELEGRAM_SECRET_TOKEN="s" * 32,
        TELEGRAM_API_BASE_URL=telegram.url, ALERT_TELEGRAM_CHAT_ID=CHAT,
        ALERT_SMTP_URL=f"smtp://127.0.0.1:{smtp_port}", ALERT_EMAIL_TO="team@bergpfad.example",
        ALERT_WEBHOOK_URL=f"{hook.url}/hook", **extra,
    )


def _spike(settings: Settings) -> Tuple[Insights, datetime]:
    start = incident_start(END)
    write_history(settings, plan(30, end=END, seed=7), until=start + timedelta(hours=1))
    insights = Insights.open(settings)
    insights.aggregate()
    now = start + timedelta(minutes=59)
    assert len(insights.check(now)) == 1
    return insights, now


def _deliveries(insights: Insights) -> Dict[str, AlertDelivery]:
    with transaction(insights.sessions) as session:
        return {d.target: d for d in session.execute(select(AlertDelivery)).scalars()}


def test_alert_reaches_telegram_email_and_webhook(tmp_path: Path, receivers: Any) -> None:
    telegram, mailbox, port, hook = receivers
    insights, now = _spike(_settings(tmp_path, telegram, port, hook))
    try:
        result = insights.deliver(now)
        assert (result.sent, result.failed) == (3, 0)
        sent = telegram.calls_of("sendMessage")
        assert len(sent) == 1 and str(sent[0].params["chat_id"]) == CHAT
        assert "Beschädigte Pakete: " in sent[0].params["text"]
        [(recipients, message)] = mailbox.messages
        assert recipients == ["team@bergpfad.example"]
        assert str(message["Subject"]).startswith("Paula-Frühwarnung: Beschädigte Pakete: ")
        assert "seit 10 Uhr" in message.get_content()
        [call] = hook.calls_of("hook")
        assert call.params["text"] == sent[0].params["text"]
        # Delivered once: later rounds send nothing again.
        assert insights.deliver(now + timedelta(hours=2)).sent == 0
        assert {d.status for d in _deliveries(insights).values()} == {"sent"}
    finally:
        insights.close()


def test_failing_target_is_retried_with_backoff_and_logged(
    tmp_path: Path, receivers: Any, caplog: pytest.LogCaptureFixture
) -> None:
    telegram, mailbox, port, hook = receivers
    hook.fail("hook", 500, {"error": "down"}, times=2)
    insights, now = _spike(_settings(tmp_path, telegram, port, hook))
    try:
        with caplog.at_level(logging.WARNING, logger="bot.insights._alerts"):
            first = insights.deliver(now)
        # The others went out although the webhook failed.
        assert (first.sent, first.failed) == (2, 1)
        assert len(telegram.calls_of("sendMessage")) == 1 and len(mailbox.messages) == 1
        webhook = _deliveries(insights)["webhook"]
        assert (webhook.status, webhook.attempts, webhook.last_error) == ("pending", 1, "HTTP 500")
        assert webhook.next_attempt_at == now + timedelta(seconds=30)
        assert "alert delivery" in caplog.text and "webhook failed (attempt 1" in caplog.text
        assert insights.deliver(now + timedelta(seconds=20)).failed == 0  # not due yet
        assert insights.deliver(now + timedelta(seconds=30)).failed == 1  # 2nd try fails
        assert _deliveries(insights)["webhook"].next_attempt_at == now + timedelta(seconds=90)
        assert insights.deliver(now + timedelta(seconds=90)).sent == 1  # 3rd try goes through
        assert [c.status for c in hook.calls] == [500, 500, 200]
        assert len(telegram.calls_of("sendMessage")) == 1  # never repeated
    finally:
        insights.close()


def test_a_hanging_target_does_not_block_the_event_loop(tmp_path: Path, receivers: Any) -> None:
    telegram, mailbox, port, hook = receivers
    hook.fail("hook", 500, {"error": "slow"}, delay=2.0)
    settings = _settings(tmp_path, telegram, port, hook)
    insights, now = _spike(settings)
    insights.close()

    async def scenario() -> int:
        beats = 0

        async def heartbeat() -> None:
            nonlocal beats
            while True:
                beats += 1
                await asyncio.sleep(0.01)

        beat = asyncio.create_task(heartbeat())
        worker = asyncio.create_task(run_insights(settings, clock=lambda: now, interval=3600))
        while not hook.calls:  # the webhook answers after 2 s
            await asyncio.sleep(0.05)
        during = beats
        for task in (worker, beat):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        return during

    assert asyncio.run(scenario()) >= 20  # the loop kept running while the target hung
    assert len(telegram.calls_of("sendMessage")) == 1


def test_quiet_hours_hold_alerts_until_they_end(tmp_path: Path, receivers: Any) -> None:
    telegram, mailbox, port, hook = receivers
    settings = _settings(tmp_path, telegram, port, hook, ALERT_QUIET_HOURS="9-11")
    insights, now = _spike(settings)  # detected at 10:59 Berlin time
    try:
        assert insights.deliver(now).sent == 0
        assert telegram.calls_of("sendMessage") == []
        later = now + timedelta(minutes=61)  # 12:00 Berlin
        assert insights.deliver(later).sent == 3
        [call] = telegram.calls_of("sendMessage")
        assert "(erkannt am " in call.params["text"] and "um 10:59 Uhr)" in call.params["text"]
    finally:
        insights.close()
