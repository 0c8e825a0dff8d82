"""A real Rasa stack with the Telegram and WhatsApp channels, talking to local fake APIs.

Used by the tests (tests/channels/conftest.py) and the benchmark (bench/channels.py).
"""

from __future__ import annotations

import itertools
import json
import secrets
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Dict, List, Mapping, Optional

from twilio.request_validator import RequestValidator

from channels._store import ChannelStore
from tests._stack import Stack, start_stack
from tests.channels.fakes import FakeTelegram, FakeTwilio

TELEGRAM_TOKEN = "123456:TEST-fake-token"
TELEGRAM_SECRET = "telegram-webhook-secret-" + "x" * 8
ACCOUNT_SID = "AC" + "1" * 32
AUTH_TOKEN = "twilio-test-auth-token"
WHATSAPP_FROM = "whatsapp:+4915100000000"
TEMPLATE_SID = "HX" + "2" * 32
PUBLIC_BASE_URL = "https://bot.example.test"
CREDENTIALS: Dict[str, Any] = {
    "channels.telegram.TelegramInput": {},
    "channels.whatsapp.WhatsAppInput": {},
}

_chat_ids = itertools.count(int(time.time()) % 100000 * 1000)
_numbers = itertools.count(int(time.time()) % 100000 * 1000)


def new_chat_id() -> int:
    return next(_chat_ids)


def new_whatsapp_number() -> str:
    return f"whatsapp:+49170{next(_numbers):07d}"


def wait_until(condition: Callable[[], bool], timeout: float = 15.0) -> None:
    """Poll ``condition`` (e.g. a database row written after a reply) until it holds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.05)


def channel_env(telegram: FakeTelegram, twilio: FakeTwilio, public_base_url: str) -> Dict:
    env = {
        "TELEGRAM_TOKEN": TELEGRAM_TOKEN,
        "TELEGRAM_SECRET_TOKEN": TELEGRAM_SECRET,
        "TELEGRAM_API_BASE_URL": telegram.url,
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "TWILIO_WHATSAPP_FROM": WHATSAPP_FROM,
        "TWILIO_API_BASE_URL": twilio.url,
        "TWILIO_TEMPLATE_CONTENT_SID": TEMPLATE_SID,
    }
    if public_base_url:
        env["PUBLIC_BASE_URL"] = public_base_url
    return env


@dataclass
class ChannelStack:
    """The Rasa stack plus the fakes, with helpers that act like the providers."""

    stack: Stack
    telegram: FakeTelegram
    twilio: FakeTwilio
    last_body: str = ""

    @property
    def store(self) -> ChannelStore:
        """The channel tables of this stack's support database."""
        if not hasattr(self, "_store"):
            self._store = ChannelStore.from_url(self.stack.settings.support_db_url)
        return self._store

    def _post(
        self, path: str, body: bytes, headers: Mapping[str, str]
    ) -> int:
        request = urllib.request.Request(
            f"{self.stack.rasa_url}{path}", data=body, headers=dict(headers), method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                self.last_body = response.read().decode("utf-8", errors="replace")
                return int(response.status)
        except urllib.error.HTTPError as error:
            self.last_body = error.read().decode("utf-8", errors="replace")
            return int(error.code)

    def post_telegram(self, update: Dict[str, Any], secret: Optional[str] = TELEGRAM_SECRET) -> int:
        headers = {"Content-Type": "application/json"}
        if secret is not None:
            headers["X-Telegram-Bot-Api-Secret-Token"] = secret
        return self._post("/webhooks/telegram/webhook", json.dumps(update).encode(), headers)

    def post_whatsapp(
        self,
        params: Mapping[str, str],
        signature: Optional[str] = None,
        path: str = "/webhooks/whatsapp/webhook",
        sign: bool = True,
    ) -> int:
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        if sign:
            headers["X-Twilio-Signature"] = signature or RequestValidator(
                AUTH_TOKEN
            ).compute_signature(PUBLIC_BASE_URL + path, dict(params))
        return self._post(path, urllib.parse.urlencode(params).encode(), headers)

    def whatsapp_message(self, sender: str, body: str = "", **extra: str) -> Dict[str, str]:
        params = {
            "MessageSid": "SM" + secrets.token_hex(16),
            "AccountSid": ACCOUNT_SID,
            "From": sender,
            "To": WHATSAPP_FROM,
            "Body": body,
            "NumMedia": "0",
            "ProfileName": "Kim",
            "WaId": sender.split("+", 1)[-1],
        }
        params.update(extra)
        return params

    def agent_reply(self, sender: str, text: str, buttons: Optional[List[Dict]] = None) -> int:
        """What the inbox does: a bot event through the HTTP API, sent on the latest channel."""
        event: Dict[str, Any] = {"event": "bot", "text": text}
        if buttons:
            event["data"] = {"buttons": buttons}
        path = (
            # Rasa's route does not unquote: ":" and "+" go into the path as they are.
            f"/conversations/{urllib.parse.quote(sender, safe=':+')}/tracker/events"
            f"?output_channel=latest&execute_side_effects=true&token={self.stack.token}"
        )
        return self._post(path, json.dumps(event).encode(), {"Content-Type": "application/json"})

    def set_last_inbound(self, channel: str, sender: str, moment: Optional[datetime]) -> None:
        self.store.set_last_inbound(channel, sender, moment)

    def stop(self) -> None:
        self.stack.stop()
        self.telegram.stop()
        self.twilio.stop()


def start_channel_stack(
    var_dir: Path,
    model: Path,
    public_base_url: str = PUBLIC_BASE_URL,
    credentials: Mapping[str, Any] = CREDENTIALS,
) -> ChannelStack:
    telegram = FakeTelegram(TELEGRAM_TOKEN).start()
    twilio = FakeTwilio(ACCOUNT_SID, AUTH_TOKEN).start()
    try:
        stack = start_stack(
            var_dir,
            model,
            extra_env=channel_env(telegram, twilio, public_base_url),
            credentials=credentials,
        )
    except BaseException:
        telegram.stop()
        twilio.stop()
        raise
    return ChannelStack(stack, telegram, twilio)
