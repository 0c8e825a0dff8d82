"""The Telegram Bot API client (python-telegram-bot) and what webhook and polling agree on."""

from __future__ import annotations

from telegram import Bot
from telegram.request import HTTPXRequest

WEBHOOK_PATH = "/webhooks/telegram/webhook"
# The update types the bot handles; set-webhook and polling ask Telegram for exactly these.
ALLOWED_UPDATES = ["message", "edited_message", "callback_query", "my_chat_member"]


def make_bot(token: str, api_base_url: str, read_timeout: float = 15.0) -> Bot:
    """A PTB bot talking to ``api_base_url`` (Telegram's, a self-hosted Bot API server, a fake)."""
    base = api_base_url.rstrip("/")
    request = HTTPXRequest(
        connection_pool_size=32, read_timeout=read_timeout, connect_timeout=5.0
    )
    return Bot(token, base_url=f"{base}/bot", base_file_url=f"{base}/file/bot", request=request)


__all__ = ["ALLOWED_UPDATES", "WEBHOOK_PATH", "make_bot"]
