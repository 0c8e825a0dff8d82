"""``python -m bot telegram set-webhook | delete-webhook | info``: the Telegram webhook.

Nothing here talks to Telegram at import time; the bot client is created inside each command.
"""

from __future__ import annotations

import argparse
import asyncio
from typing import Any, Awaitable, Callable, TypeVar

from bot.errors import BotError, ConfigurationError
from bot.settings import Settings, TelegramSettings

T = TypeVar("T")


def _telegram(settings: Settings) -> TelegramSettings:
    if settings.telegram is None:
        raise ConfigurationError(
            "Telegram is off: set TELEGRAM_TOKEN and TELEGRAM_SECRET_TOKEN (see docs/channels.md)"
        )
    return settings.telegram


def _run(settings: Settings, work: Callable[[Any], Awaitable[T]]) -> T:
    """Run ``work(bot)`` with an initialised bot; Telegram errors become one clear sentence."""
    from telegram.error import InvalidToken, TelegramError

    from channels._telegram_api import make_bot

    telegram = _telegram(settings)

    async def main() -> T:
        async with make_bot(telegram.token, telegram.api_base_url) as bot:
            return await work(bot)

    try:
        return asyncio.run(main())
    except InvalidToken:
        raise ConfigurationError("Telegram does not accept TELEGRAM_TOKEN") from None
    except TelegramError as error:
        raise BotError(f"Telegram answered: {error}") from None


def webhook_url(settings: Settings) -> str:
    from channels._telegram_api import WEBHOOK_PATH

    if not settings.public_base_url:
        raise ConfigurationError(
            "PUBLIC_BASE_URL is not set: Telegram needs the public https address of this bot "
            "(without it the bot long-polls instead; no webhook needed)"
        )
    if not settings.public_base_url.startswith("https://"):
        raise ConfigurationError(
            f"PUBLIC_BASE_URL must be an https:// address for Telegram, "
            f"got {settings.public_base_url!r}"
        )
    return settings.public_base_url + WEBHOOK_PATH


def _cmd_set_webhook(args: argparse.Namespace, settings: Settings) -> int:
    from channels._telegram_api import ALLOWED_UPDATES

    secret = _telegram(settings).secret_token
    url = webhook_url(settings)

    async def work(bot: Any) -> str:
        await bot.set_webhook(
            url,
            secret_token=secret,
            allowed_updates=ALLOWED_UPDATES,
            drop_pending_updates=args.drop_pending_updates,
            max_connections=args.max_connections,
        )
        return str(bot.username)

    username = _run(settings, work)
    dropped = " (pending updates dropped)" if args.drop_pending_updates else ""
    print(f"Webhook of @{username} set to {url}{dropped}")
    print(f"Updates: {', '.join(ALLOWED_UPDATES)}; secret token: TELEGRAM_SECRET_TOKEN")
    return 0


def _cmd_delete_webhook(args: argparse.Namespace, settings: Settings) -> int:
    async def work(bot: Any) -> str:
        await bot.delete_webhook(drop_pending_updates=args.drop_pending_updates)
        return str(bot.username)

    username = _run(settings, work)
    print(f"Webhook of @{username} deleted; the bot long-polls when PUBLIC_BASE_URL is unset")
    return 0


def _cmd_info(args: argparse.Namespace, settings: Settings) -> int:
    async def work(bot: Any) -> Any:
        return bot.username, await bot.get_webhook_info()

    username, info = _run(settings, work)
    print(f"Bot:              @{username}")
    print(f"Webhook:          {info.url or '(none: long polling)'}")
    print(f"Pending updates:  {info.pending_update_count}")
    if info.allowed_updates:
        print(f"Allowed updates:  {', '.join(info.allowed_updates)}")
    if info.last_error_message:
        print(f"Last error:       {info.last_error_message} ({info.last_error_date})")
    if settings.public_base_url:
        expected = webhook_url(settings)
        if info.url != expected:
            print(f"Note: expected {expected}; run `python -m bot telegram set-webhook`")
    return 0


def add_commands(subparsers: Any) -> None:
    """Adds ``telegram`` with its actions to ``python -m bot``."""
    telegram = subparsers.add_parser("telegram", help="register or inspect the Telegram webhook")
    actions = telegram.add_subparsers(dest="telegram_command", required=True, metavar="ACTION")
    set_hook = actions.add_parser(
        "set-webhook", help="point Telegram at PUBLIC_BASE_URL/webhooks/telegram/webhook"
    )
    set_hook.add_argument(
        "--drop-pending-updates", action="store_true", help="discard updates waiting at Telegram"
    )
    set_hook.add_argument(
        "--max-connections", type=int, default=40, help="parallel webhook connections (1-100)"
    )
    set_hook.set_defaults(handler=_cmd_set_webhook)
    delete = actions.add_parser("delete-webhook", help="remove the webhook (back to polling)")
    delete.add_argument(
        "--drop-pending-updates", action="store_true", help="discard updates waiting at Telegram"
    )
    delete.set_defaults(handler=_cmd_delete_webhook)
    actions.add_parser("info", help="show the bot and its webhook status").set_defaults(
        handler=_cmd_info
    )


__all__ = ["add_commands", "webhook_url"]
