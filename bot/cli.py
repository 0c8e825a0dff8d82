"""``python -m bot``: the command line for operators and trainers."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import time
from typing import TYPE_CHECKING, Callable, List, Optional

from bot.errors import BotError
from bot.settings import PROJECT_ROOT, Settings, load_settings

if TYPE_CHECKING:
    from bot.training import TrainResult

Handler = Callable[[argparse.Namespace, Settings], int]


def _cmd_build_spacy(args: argparse.Namespace, settings: Settings) -> int:
    from bot.spacy_model import build_spacy_model, spacy_model_ready

    if spacy_model_ready(settings.spacy_model_dir) and not args.force:
        print(f"German spaCy pipeline already at {settings.spacy_model_dir}")
        return 0
    build_spacy_model(settings.spacy_model_dir)
    print(f"Built the German spaCy pipeline at {settings.spacy_model_dir}")
    return 0


def _prepare_model(settings: Settings, force: bool = False) -> "TrainResult":
    """Train if needed. Everything heavy (spaCy, Rasa, TensorFlow) runs in child processes:
    the launcher that keeps running stays small."""
    from bot.spacy_model import config_uses_spacy, ensure_spacy_model_in_child
    from bot.training import train

    if config_uses_spacy(PROJECT_ROOT / "config.yml"):
        ensure_spacy_model_in_child(settings.spacy_model_dir)
    print("Checking whether the model is up to date with data/, domain.yml and config.yml …",
          flush=True)
    result = train(PROJECT_ROOT, settings.model_dir, force=force, announce=True)
    if result.trained:
        print(f"Trained {result.model} in {result.seconds:.0f} s", flush=True)
    else:
        print(f"Model {result.model} is up to date; not retraining", flush=True)
    return result


def _cmd_train(args: argparse.Namespace, settings: Settings) -> int:
    _prepare_model(settings, force=args.force)
    return 0


def _cmd_seed(args: argparse.Namespace, settings: Settings) -> int:
    from bot.database import make_engine
    from bot.migrations._cli import upgrade_all
    from bot.seed import seed_shop

    for line in upgrade_all(settings):
        print(line, flush=True)
    count = seed_shop(make_engine(settings.shop_db_url))
    print(f"Support database ready; shop database has {count} demo orders")
    return 0


INBOX_SHUTDOWN_SECONDS = 3.0


def _cmd_inbox(args: argparse.Namespace, settings: Settings) -> int:
    from aiohttp import web

    from bot.inbox import create_app

    # On SIGTERM, open requests get a few seconds (live streams are ended first); aiohttp's
    # default of 60 s outlived every process manager's stop timeout behind haproxy.
    web.run_app(
        create_app(settings), host=settings.host, port=settings.inbox_port, print=None,
        shutdown_timeout=INBOX_SHUTDOWN_SECONDS,
    )
    return 0


def _channel_lines(settings: Settings) -> List[str]:
    from channels.registry import messengers

    lines = []
    for info in messengers():
        head = f"  {info.label + ':':<10} "
        if not info.is_on(settings):
            lines.append(f"{head}aus ({'/'.join(info.variables)} nicht gesetzt)")
        elif info.name == "telegram":
            lines.append(f"{head}an  (Webhook {settings.public_base_url or 'Polling'})")
        else:
            lines.append(f"{head}an")
    return lines


def _cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    from bot.launcher import build_services, check_port_free, ensure_secret_in_dotenv, run_services

    started = time.monotonic()
    os.umask(0o077)  # databases, logs and exports this run and its children create: owner only
    env_file = PROJECT_ROOT / ".env"
    generated = [
        key
        for key in ("RASA_TOKEN", "INBOX_SECRET_KEY", "LOG_PSEUDONYM_KEY", "ACTION_SERVER_TOKEN")
        if ensure_secret_in_dotenv(env_file, key)
    ]
    if generated:
        print(f"Generated {', '.join(generated)} into {env_file}")
        settings = load_settings()
    for port, variable in (
        (settings.rasa_port, "RASA_PORT"),
        (settings.action_port, "ACTION_PORT"),
        (settings.inbox_port, "INBOX_PORT"),
    ):
        check_port_free(settings.host, port, variable)
    result = _prepare_model(settings)
    _cmd_seed(args, settings)
    model = result.model
    services = build_services(settings, model)
    print("Starte Rasa, Aktionsserver und Inbox …", flush=True)

    def banner() -> str:
        """Built once all servers answer, so the start time includes their start-up."""
        return "\n".join(
            [
                "",
                f"Paula ist bereit (Start in {time.monotonic() - started:.0f} s).",
                f"  Web-Chat:  {settings.inbox_url}/chat",
                f"  Inbox:     {settings.inbox_url}/",
                f"  Rasa API:  {settings.rasa_url}  (Token: RASA_TOKEN in .env)",
                f"  REST:      POST {settings.rasa_url}/webhooks/rest/webhook",
                *_channel_lines(settings),
                "Beenden mit Strg+C.",
            ]
        )

    return run_services(services, banner)


# Modules that add their own sub-commands: each has ``add_commands(subparsers)`` and sets
# ``handler=<function(args, settings) -> int>`` on its parsers. Imported lazily.
COMMAND_MODULES: List[str] = [
    "channels._cli", "bot.inbox._cli", "bot.trainer._cli", "bot.privacy._cli",
    "bot.migrations._cli", "bot.insights._cli",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bot", description="Bergpfad customer-support bot: run, train, operate."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    run = sub.add_parser("run", help="train if needed, seed demo data, start bot + actions + inbox")
    run.set_defaults(handler=_cmd_run)
    train = sub.add_parser("train", help="train the model if data/config changed")
    train.add_argument("--force", action="store_true", help="train even if nothing changed")
    train.set_defaults(handler=_cmd_train)
    sub.add_parser("seed", help="create the databases and the demo shop orders").set_defaults(
        handler=_cmd_seed
    )
    sub.add_parser("inbox", help="run only the inbox / web chat server").set_defaults(
        handler=_cmd_inbox
    )
    spacy = sub.add_parser("build-spacy", help="build the offline German spaCy pipeline")
    spacy.add_argument("--force", action="store_true")
    spacy.set_defaults(handler=_cmd_build_spacy)
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).add_commands(sub)
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
        handler: Handler = args.handler
        return handler(args, settings)
    except BotError as error:
        print(f"Fehler: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
