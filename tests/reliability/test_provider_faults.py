"""Provider outages a customer must not notice, and an agent must notice.

Real Rasa server with both messenger channels; the fake Telegram / Twilio APIs answer 5xx or
hang past the client's timeout. Transient faults are retried with backoff and the customer gets
the answer exactly once; a permanent failure is recorded and shown in the inbox.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, Callable, List

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select

from bot.inbox import create_app
from bot.models import Handoff
from bot.settings import load_settings
from tests.channels.fakes import Call, telegram_error
from tests.channels.harness import ChannelStack, new_chat_id, new_whatsapp_number, wait_until
from tests.inbox._support import add_agent, login, post_json

pytestmark = pytest.mark.slow

TELEGRAM_READ_TIMEOUT = 15.0  # channels._telegram_api.make_bot
TWILIO_TIMEOUT = 10.0  # channels._whatsapp_output.WhatsAppSender
MIN_FIRST_BACKOFF = 0.4  # RetryPolicy(): 0.5 s with at most 20 % jitter
ASK_FOR_A_HUMAN = "Ich möchte bitte mit einem Menschen sprechen"


def to_chat(chat: int) -> Callable[[Call], bool]:
    return lambda call: str(call.params.get("chat_id")) == str(chat)


def to_number(number: str) -> Callable[[Call], bool]:
    return lambda call: call.params.get("To") == number


def handled(channels: ChannelStack, channel: str, sender: str) -> bool:
    """The channel finished the customer's message (its answer sent or finally failed)."""
    from channels._store import InboundMessage

    with channels.store.sessions() as session:
        rows = list(session.scalars(select(InboundMessage).where(
            InboundMessage.channel == channel, InboundMessage.sender_id == sender)))
    return bool(rows) and all(row.handled_at is not None for row in rows)


def test_telegram_5xx_twice_then_ok_is_delivered_once_with_backoff(
    channel_stack: ChannelStack,
) -> None:
    telegram, chat = channel_stack.telegram, new_chat_id()
    telegram.fail("sendMessage", 500, telegram_error(500, "Internal Server Error"), times=1,
                  match=lambda p: str(p.get("chat_id")) == str(chat))
    telegram.fail("sendMessage", 502, telegram_error(502, "Bad Gateway"), times=1,
                  match=lambda p: str(p.get("chat_id")) == str(chat))
    assert channel_stack.post_telegram(telegram.text_update(chat, "Hallo!")) == 200
    wait_until(lambda: handled(channel_stack, "telegram", str(chat)), timeout=60)
    calls = telegram.calls_of("sendMessage", to_chat(chat))
    assert [c.status for c in calls] == [500, 502, 200]
    assert calls[0].params["text"] == calls[2].params["text"] and "Paula" in calls[2].params["text"]
    assert calls[1].at - calls[0].at >= MIN_FIRST_BACKOFF  # not hammered
    assert calls[2].at - calls[1].at >= 2 * MIN_FIRST_BACKOFF  # and the wait doubles
    [delivery] = channel_stack.store.deliveries_for("telegram", str(chat))
    assert (delivery.status, delivery.attempts) == ("sent", 3)


def test_telegram_timeout_is_retried_and_delivered_once(channel_stack: ChannelStack) -> None:
    telegram, chat = channel_stack.telegram, new_chat_id()
    # The gateway hangs (no answer before the client gives up) and did not deliver.
    telegram.fail("sendMessage", 504, telegram_error(504, "Gateway Timeout"), times=1,
                  match=lambda p: str(p.get("chat_id")) == str(chat),
                  delay=TELEGRAM_READ_TIMEOUT + 3)
    assert channel_stack.post_telegram(telegram.text_update(chat, "Hallo!")) == 200
    wait_until(lambda: handled(channel_stack, "telegram", str(chat)), timeout=90)
    assert [c.status for c in telegram.calls_of("sendMessage", to_chat(chat))] == [504, 200]
    [delivery] = channel_stack.store.deliveries_for("telegram", str(chat))
    assert (delivery.status, delivery.attempts) == ("sent", 2)


def test_whatsapp_timeout_is_retried_and_delivered_once(channel_stack: ChannelStack) -> None:
    twilio, number = channel_stack.twilio, new_whatsapp_number()
    twilio.fail_messages(503, 20503, "unavailable", times=1, to=number, delay=TWILIO_TIMEOUT + 3)
    assert channel_stack.post_whatsapp(channel_stack.whatsapp_message(number, "Hallo!")) == 200
    wait_until(lambda: handled(channel_stack, "whatsapp", number), timeout=90)
    calls = twilio.calls_of("messages", to_number(number))
    assert [c.status for c in calls] == [503, 201]
    assert "Paula" in str(calls[1].params["Body"])
    [delivery] = channel_stack.store.deliveries_for("whatsapp", number)
    assert delivery.attempts == 2 and delivery.status != "failed"


class Inbox:
    """The real inbox app (in this process) on the stack's databases and Rasa."""

    def __init__(self, channels: ChannelStack) -> None:
        # Plain http on loopback: the stack's https PUBLIC_BASE_URL would make cookies Secure.
        self.settings = load_settings({**channels.stack.env, "INBOX_COOKIE_SECURE": "false"})
        self.app = create_app(self.settings)
        self.server = TestServer(self.app, host="127.0.0.1")
        self.client: TestClient

    async def __aenter__(self) -> "Inbox":
        await self.server.start_server()
        self.client = TestClient(self.server)
        await self.client.start_server()
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.client.close()
        await self.server.close()

    def handoff_of(self, sender: str) -> int:
        from bot.inbox._context import INBOX_KEY

        store = self.app[INBOX_KEY].db()
        return int(store.call(lambda session: session.scalars(
            select(Handoff.id).where(Handoff.sender_id == sender).order_by(Handoff.id.desc())
        ).first()))

    async def agent(self, name: str) -> str:
        from bot.inbox._context import INBOX_KEY

        add_agent(self.app[INBOX_KEY].db(), name)
        return await login(self.client, name)

    async def transcript(self, handoff_id: int) -> str:
        response = await self.client.get(f"/inbox/api/conversations/{handoff_id}")
        assert response.status == 200, await response.text()
        page: Any = await response.json()
        return str(page["html"])


def escalate_on_telegram(channels: ChannelStack) -> int:
    chat = new_chat_id()
    channels.post_telegram(channels.telegram.text_update(chat, ASK_FOR_A_HUMAN))
    wait_until(lambda: handled(channels, "telegram", str(chat)), timeout=60)
    return chat


def test_agent_reply_that_cannot_be_delivered_is_marked_in_the_inbox(
    channel_stack: ChannelStack,
) -> None:
    telegram = channel_stack.telegram
    chat = escalate_on_telegram(channel_stack)
    telegram.fail("sendMessage", 500, telegram_error(500, "Internal Server Error"), times=99,
                  match=lambda p: str(p.get("chat_id")) == str(chat))
    reply = "Hallo, hier ist Anna vom Team. Ich schaue mir das an."

    async def scenario() -> str:
        async with Inbox(channel_stack) as inbox:
            csrf = await inbox.agent(f"anna{chat}")
            handoff_id = inbox.handoff_of(str(chat))
            claimed = await post_json(
                inbox.client, f"/inbox/api/conversations/{handoff_id}/claim", csrf)
            assert claimed.status == 200, await claimed.text()
            sent = await post_json(inbox.client, f"/inbox/api/conversations/{handoff_id}/reply",
                                   csrf, {"text": reply})
            assert sent.status == 502, await sent.text()
            return await inbox.transcript(handoff_id)

    page = asyncio.run(scenario())
    assert reply in page and "Nicht zugestellt" in page
    attempts: List[Call] = telegram.calls_of(
        "sendMessage", lambda c: to_chat(chat)(c) and c.params.get("text") == reply)
    assert [c.status for c in attempts] == [500] * 4  # bounded: RetryPolicy().attempts
    events = channel_stack.stack.tracker(str(chat))["events"]
    assert not [e for e in events if e["event"] == "bot" and e.get("text") == reply]


def test_bot_answer_that_cannot_be_delivered_is_marked_in_the_inbox(
    channel_stack: ChannelStack,
) -> None:
    """Telegram is down for this customer: Paula's handoff message never arrives. The agent who
    opens the conversation must see that the customer did not get it."""
    telegram, chat = channel_stack.telegram, new_chat_id()
    telegram.fail("sendMessage", 500, telegram_error(500, "Internal Server Error"), times=99,
                  match=lambda p: str(p.get("chat_id")) == str(chat))
    channel_stack.post_telegram(telegram.text_update(chat, ASK_FOR_A_HUMAN))
    wait_until(lambda: handled(channel_stack, "telegram", str(chat)), timeout=60)
    failed = [d for d in channel_stack.store.deliveries_for("telegram", str(chat))
              if d.status == "failed"]
    assert failed and failed[0].reason == "provider_unavailable"

    async def scenario() -> str:
        async with Inbox(channel_stack) as inbox:
            await inbox.agent(f"ben{chat}")
            deadline = time.monotonic() + 30
            while True:  # the action server records the handoff; the consumer may lag
                try:
                    return await inbox.transcript(inbox.handoff_of(str(chat)))
                except TypeError:
                    if time.monotonic() > deadline:
                        raise
                    await asyncio.sleep(0.2)

    page = asyncio.run(scenario())
    assert str(failed[0].text) in page
    assert "Nicht zugestellt" in page
