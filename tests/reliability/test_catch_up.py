"""The catch-up on start must not handle a second time what this process accepted itself.

Sanic serves requests while the ``after_server_start`` listeners run, so a redelivery that
arrives in the first moments after a restart is accepted (and its handling started) before the
channel's catch-up has looked for unhandled messages. Only messages an earlier process accepted
may be caught up; otherwise the customer gets the answer twice.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any, Dict, List

from rasa.core.channels.channel import UserMessage

from bot.settings import load_settings
from channels._store import ChannelStore
from channels.telegram import TelegramInput
from channels.whatsapp import WhatsAppInput
from tests.channels.harness import ACCOUNT_SID, AUTH_TOKEN, TELEGRAM_SECRET, TELEGRAM_TOKEN

SETTINGS = {
    "TELEGRAM_TOKEN": TELEGRAM_TOKEN,
    "TELEGRAM_SECRET_TOKEN": TELEGRAM_SECRET,
    "TELEGRAM_API_BASE_URL": "http://127.0.0.1:9",  # never called: nothing is sent here
    "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
    "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
    "TWILIO_WHATSAPP_FROM": "whatsapp:+4915100000000",
    "TWILIO_API_BASE_URL": "http://127.0.0.1:9",
    "PUBLIC_BASE_URL": "https://bot.example.test",
}


class Rasa:
    """Stands in for Rasa's on_new_message: records what reached the bot (slowly, like NLU)."""

    def __init__(self) -> None:
        self.texts: List[str] = []

    async def __call__(self, message: UserMessage) -> None:
        self.texts.append(message.text or "")
        await asyncio.sleep(0.3)


def telegram_update(update_id: int, chat: int, text: str) -> Dict[str, Any]:
    person = {"id": chat, "is_bot": False, "first_name": "Kim"}
    return {"update_id": update_id, "message": {
        "message_id": 1, "date": 1_700_000_000, "text": text,
        "chat": {"id": chat, "type": "private", "first_name": "Kim"}, "from": person}}


def test_telegram_update_accepted_just_before_the_catch_up_is_handled_once(
    tmp_path: Path,
) -> None:
    settings = load_settings({"BOT_VAR_DIR": str(tmp_path), **SETTINGS})
    # One message an earlier process accepted and never handled (it was killed).
    earlier = ChannelStore.from_url(settings.support_db_url)
    earlier.ensure_schema()
    assert earlier.claim_inbound("telegram", "500", "41",
                                 json.dumps(telegram_update(500, 41, "Vor dem Absturz")))
    rasa = Rasa()

    async def restart() -> None:
        channel = TelegramInput(settings)
        # A redelivery arrives while the server starts; then the catch-up listener runs.
        assert await channel.accept(telegram_update(501, 42, "Hallo!"), None, rasa)
        assert await channel.catch_up(None, rasa) == 1
        await channel.tasks.drain(timeout=10)

    asyncio.run(restart())
    assert sorted(rasa.texts) == ["Hallo!", "Vor dem Absturz"]


def test_whatsapp_message_accepted_just_before_the_catch_up_is_handled_once(
    tmp_path: Path,
) -> None:
    settings = load_settings({"BOT_VAR_DIR": str(tmp_path), **SETTINGS})
    rasa = Rasa()
    form = {"MessageSid": "SM" + "1" * 32, "From": "whatsapp:+491701234567", "Body": "Hallo!",
            "NumMedia": "0"}

    async def restart() -> None:
        channel = WhatsAppInput(settings)
        assert await channel.accept(form, None, rasa)
        assert await channel.catch_up(None, rasa) == 0
        await channel.tasks.drain(timeout=10)
        await channel.sender.close()

    asyncio.run(restart())
    assert rasa.texts == ["Hallo!"]
