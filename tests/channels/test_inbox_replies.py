"""The inbox's Rasa client delivers agent replies on the customer's own messenger."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest

from bot.inbox._rasa import RasaClient
from tests.channels.fakes import Call
from tests.channels.harness import ChannelStack, new_chat_id, new_whatsapp_number
from tests.channels.test_telegram import to_chat

pytestmark = pytest.mark.slow


async def _reply(stack: ChannelStack, sender: str, text: str) -> None:
    async with aiohttp.ClientSession() as session:
        client = RasaClient(stack.stack.rasa_url, stack.stack.token, session)
        await client.append_events(sender, [{"event": "bot", "text": text}])


def test_agent_reply_reaches_a_whatsapp_customer(channel_stack: ChannelStack) -> None:
    number = new_whatsapp_number()  # "whatsapp:+49…": ":" and "+" must survive the URL
    assert channel_stack.post_whatsapp(channel_stack.whatsapp_message(number, "Hallo!")) == 200
    channel_stack.twilio.wait_for_messages(lambda c: c.params.get("To") == number)
    asyncio.run(_reply(channel_stack, number, "Hier ist Jana vom Bergpfad-Team."))
    bodies = [
        c.params.get("Body")
        for c in channel_stack.twilio.wait_for_messages(
            lambda c: c.params.get("To") == number and "Jana" in str(c.params.get("Body")), 1
        )
    ]
    assert bodies == ["Hier ist Jana vom Bergpfad-Team."]


def test_agent_reply_reaches_a_telegram_customer(channel_stack: ChannelStack) -> None:
    chat = new_chat_id()
    assert channel_stack.post_telegram(channel_stack.telegram.text_update(chat, "Hallo!")) == 200
    channel_stack.telegram.wait_for("sendMessage", to_chat(chat))
    asyncio.run(_reply(channel_stack, str(chat), "Hier ist Jana vom Bergpfad-Team."))
    answers = channel_stack.telegram.wait_for("sendMessage", to_chat(chat), count=2)
    assert answers[-1].params["text"] == "Hier ist Jana vom Bergpfad-Team."


@pytest.mark.parametrize(("platform", "prefix"), [("page", "fb"), ("instagram", "ig")])
def test_agent_reply_reaches_a_messenger_or_instagram_customer(
    channel_stack: ChannelStack, platform: str, prefix: str
) -> None:
    scoped = str(10**15 + new_chat_id())
    assert channel_stack.post_meta(channel_stack.meta_message(scoped, "Hallo!", platform)) == 200

    def to_customer(call: Call) -> bool:
        return (call.params.get("recipient") or {}).get("id") == scoped

    channel_stack.meta.wait_for_messages(to_customer)
    asyncio.run(_reply(channel_stack, f"{prefix}:{scoped}", "Hier ist Jana vom Bergpfad-Team."))
    answers = channel_stack.meta.wait_for_messages(to_customer, count=2)
    assert answers[-1].params["message"]["text"] == "Hier ist Jana vom Bergpfad-Team."
    assert answers[-1].params["messaging_type"] == "RESPONSE"
