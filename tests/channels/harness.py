"""A real Rasa stack with the Telegram, WhatsApp and Meta channels, talking to local fake APIs.

Used by the tests (tests/channels/conftest.py) and the benchmark (bench/channels.py).
"""

from __future__ import annotations

import hashlib
import hmac
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
from tests.channels.fakes import FakeMeta, FakeTelegram, FakeTwilio

TELEGRAM_TOKEN = "123456:TEST-fake-token"
TELEGRAM_SECRET = "telegram-webhook-secret-" + "x" * 8
ACCOUNT_SID = "AC" + "1" * 32
AUTH_TOKEN = "twilio-test-auth-token"
WHATSAPP_FROM = "whatsapp:+4915100000000"
TEMPLATE_SID = "HX" + "2" * 32
PUBLIC_BASE_URL = "https://bot.example.test"
META_PAGE_TOKEN = "EAAG-fake-page-access-token"
META_APP_SECRET = "meta-app-secret-" + "y" * 16
META_VERIFY_TOKEN = "meta-verify-token-" + "z" * 8
CREDENTIALS: Dict[str, Any] = {
    "channels.telegram.TelegramInput": {},
    "channels.whatsapp.WhatsAppInput": {},
    "channels.meta.MetaInput": {},
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


def channel_env(
    telegram: FakeTelegram, twilio: FakeTwilio, public_base_url: str,
    meta: Optional[FakeMeta] = None,
) -> Dict:
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
    if meta is not None:
        env.update({
            "META_PAGE_ACCESS_TOKEN": META_PAGE_TOKEN,
            "META_APP_SECRET": META_APP_SECRET,
            "META_VERIFY_TOKEN": META_VERIFY_TOKEN,
            "META_API_BASE_URL": meta.api_url,
        })
    if public_base_url:
        env["PUBLIC_BASE_URL"] = public_base_url
    return env


@dataclass
class ChannelStack:
    """The Rasa stack plus the fakes, with helpers that act like the providers."""

    stack: Stack
    telegram: FakeTelegram
    twilio: FakeTwilio
    meta: FakeMeta
    last_body: str = ""
    meta_verify_token: str = META_VERIFY_TOKEN

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

    def post_meta(
        self,
        body: Dict[str, Any],
        secret: str = META_APP_SECRET,
        signature: Optional[str] = None,
        sign: bool = True,
    ) -> int:
        """A Meta webhook: ``X-Hub-Signature-256`` over the raw body (``signature`` overrides)."""
        raw = json.dumps(body).encode()
        headers = {"Content-Type": "application/json"}
        if sign:
            headers["X-Hub-Signature-256"] = signature if signature is not None else (
                "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
            )
        return self._post("/webhooks/meta/webhook", raw, headers)

    def post_meta_raw(self, raw: bytes) -> int:
        signature = "sha256=" + hmac.new(META_APP_SECRET.encode(), raw, hashlib.sha256).hexdigest()
        return self._post("/webhooks/meta/webhook", raw, {"X-Hub-Signature-256": signature})

    def meta_handshake(self, mode: str, token: str, challenge: str) -> tuple[int, str]:
        query = urllib.parse.urlencode(
            {"hub.mode": mode, "hub.verify_token": token, "hub.challenge": challenge}
        )
        try:
            with urllib.request.urlopen(
                f"{self.stack.rasa_url}/webhooks/meta/webhook?{query}", timeout=30
            ) as response:
                return int(response.status), response.read().decode()
        except urllib.error.HTTPError as error:
            return int(error.code), error.read().decode()

    @staticmethod
    def _meta_body(platform: str, event: Dict[str, Any]) -> Dict[str, Any]:
        return {"object": platform, "entry": [
            {"id": "1000", "time": int(time.time() * 1000), "messaging": [event]}]}

    def meta_message(
        self,
        scoped_id: str,
        text: Optional[str],
        platform: str = "page",
        quick_reply: Optional[str] = None,
        attachments: Optional[List[Dict[str, Any]]] = None,
    ) -> Dict[str, Any]:
        """A Messenger (``page``) or Instagram (``instagram``) message as Meta posts it."""
        message: Dict[str, Any] = {"mid": "m_" + secrets.token_hex(16)}
        if text is not None:
            message["text"] = text
        if quick_reply is not None:
            message["quick_reply"] = {"payload": quick_reply}
        if attachments:
            message["attachments"] = attachments
        return self._meta_body(platform, {
            "sender": {"id": scoped_id}, "recipient": {"id": "1000"},
            "timestamp": int(time.time() * 1000), "message": message})

    def meta_optin(self, scoped_id: str, status: str) -> Dict[str, Any]:
        return self._meta_body("page", {
            "sender": {"id": scoped_id}, "recipient": {"id": "1000"},
            "timestamp": int(time.time() * 1000),
            "optin": {"type": "notification_messages", "notification_messages_status": status}})

    def agent_image(self, sender: str, url: str) -> int:
        """An agent's image through the HTTP API (a bot event with an image)."""
        event = {"event": "bot", "text": None, "data": {"image": url}}
        path = (
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
        self.meta.stop()


def start_channel_stack(
    var_dir: Path,
    model: Path,
    public_base_url: str = PUBLIC_BASE_URL,
    credentials: Mapping[str, Any] = CREDENTIALS,
) -> ChannelStack:
    telegram = FakeTelegram(TELEGRAM_TOKEN).start()
    twilio = FakeTwilio(ACCOUNT_SID, AUTH_TOKEN).start()
    meta = FakeMeta(META_PAGE_TOKEN).start()
    try:
        stack = start_stack(
            var_dir,
            model,
            extra_env=channel_env(telegram, twilio, public_base_url, meta),
            credentials=credentials,
        )
    except BaseException:
        telegram.stop()
        twilio.stop()
        meta.stop()
        raise
    return ChannelStack(stack, telegram, twilio, meta)
