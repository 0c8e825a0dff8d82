"""The catch-up on start must not handle a second time what this process accepted itself.

Sanic serves requests while the ``after_server_start`` listeners run, so a redelivery that
arrives in the first moments after a restart is accepted (and its handling started) before the
channel's catch-up has looked for unhandled messages. Only messages an earlier process accepted
may be caught up; otherwise the customer gets the answer twice.
"""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta, timezone
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


def test_answered_message_whose_turn_rasa_never_saved_is_recorded_and_not_sent_again(
    tmp_path: Path, test_model: Path
) -> None:
    """Rasa sends the answer before it saves the tracker: a kill -9 in between leaves the
    customer answered and the conversation without the turn. The catch-up records the turn
    (the customer's text and what reached them) and sends nothing."""
    from rasa.core.agent import load_agent

    settings = load_settings({"BOT_VAR_DIR": str(tmp_path), **SETTINGS})
    sender, sid = "whatsapp:+491709876543", "SM" + "2" * 32
    form = {"MessageSid": sid, "From": sender, "Body": "Hallo!", "NumMedia": "0"}
    earlier = ChannelStore.from_url(settings.support_db_url)
    earlier.ensure_schema()
    assert earlier.claim_inbound("whatsapp", sid, sender, json.dumps(form))
    answer = "Hallo, ich bin Paula! Wie kann ich dir helfen?"
    earlier.record_delivery("whatsapp", sender, status="sent", text=answer)
    rasa = Rasa()

    async def restart() -> List[Any]:
        agent = await load_agent(model_path=str(test_model))
        channel = WhatsAppInput(settings)
        assert await channel.catch_up(agent, rasa) == 1
        await channel.tasks.drain(timeout=10)
        await channel.sender.close()
        tracker = await agent.tracker_store.retrieve(sender)
        assert tracker is not None
        return list(tracker.events)

    events = asyncio.run(restart())
    assert rasa.texts == []  # not handled (and answered) a second time
    said = [(e.text, e.message_id, e.intent.get("name")) for e in events
            if e.type_name == "user"]
    assert said == [("Hallo!", sid, "greet")]
    assert [e.text for e in events if e.type_name == "bot"] == [answer]
    assert earlier.unhandled_since("whatsapp", datetime.now(timezone.utc).replace(tzinfo=None)
                                   - timedelta(hours=1)) == []
