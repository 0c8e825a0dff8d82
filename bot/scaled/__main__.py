"""``python -m bot.scaled [--rasa N] [--actions M] [--inbox K]`` (``make run-scaled``).

Installs the missing Debian packages, starts PostgreSQL, Redis and RabbitMQ on loopback, then
N Rasa servers, M action servers and K inbox processes behind haproxy where ``make run`` serves
(Rasa 5005, actions 5055, inbox 8000). Ctrl-C stops everything.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import List, Optional, Sequence

from bot.errors import BotError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot.scaled", description=__doc__)
    parser.add_argument("--rasa", type=int, default=2, help="Rasa servers (default 2)")
    parser.add_argument("--actions", type=int, default=2, help="action servers (default 2)")
    parser.add_argument("--inbox", type=int, default=2, help="inbox processes (default 2)")
    return parser


def run(arguments: Optional[Sequence[str]] = None) -> int:
    from bot.cli import _prepare_model  # the same model rule as `make run`
    from bot.launcher import StopRequest, check_port_free, ensure_secret_in_dotenv
    from bot.scaled._services import ensure_packages
    from bot.scaled._topology import Infrastructure, process_rss_mib, start_scaled
    from bot.settings import PROJECT_ROOT, load_environment, load_settings

    args = _parser().parse_args(arguments)
    started = time.monotonic()
    os.umask(0o077)
    env_file = PROJECT_ROOT / ".env"
    for key in ("RASA_TOKEN", "INBOX_SECRET_KEY", "LOG_PSEUDONYM_KEY", "ACTION_SERVER_TOKEN"):
        ensure_secret_in_dotenv(env_file, key)
    settings = load_settings()
    for port, variable in ((settings.rasa_port, "RASA_PORT"),
                           (settings.action_port, "ACTION_PORT"),
                           (settings.inbox_port, "INBOX_PORT")):
        check_port_free(settings.host, port, variable)
    ensure_packages()
    model = _prepare_model(settings).model
    var_dir = settings.var_dir / "scaled"
    print("Starte PostgreSQL, Redis und RabbitMQ (127.0.0.1) …", flush=True)
    infrastructure = Infrastructure.start(var_dir / "servers",
                                          queue=settings.event_broker_queue)
    stop = StopRequest().install()
    stack = None
    try:
        print(f"Starte {args.rasa}× Rasa, {args.actions}× Aktionsserver, {args.inbox}× Inbox "
              "hinter haproxy …", flush=True)
        stack = start_scaled(var_dir, model, infrastructure, rasa=args.rasa,
                             actions=args.actions, inbox=args.inbox,
                             base_env=load_environment())
        lines: List[str] = [
            "",
            f"Paula (skaliert) ist bereit (Start in {time.monotonic() - started:.0f} s).",
            f"  Web-Chat:  {stack.settings.inbox_url}/chat",
            f"  Inbox:     {stack.settings.inbox_url}/",
            f"  Rasa API:  {stack.settings.rasa_url}  (Token: RASA_TOKEN in .env)",
            f"  Logs:      {var_dir / 'logs'}",
        ]
        for instance in stack.instances:
            assert instance.process is not None
            lines.append(f"  {instance.name:<9} {instance.url}  "
                         f"RSS {process_rss_mib(instance.process.pid):.0f} MiB")
        lines.append("Beenden mit Strg+C.")
        print("\n".join(lines), flush=True)
        while not stop.requested:
            for instance in stack.instances:
                if not instance.alive():
                    print(f"{instance.name} wurde beendet; stoppe alles.\n{instance.tail()}",
                          file=sys.stderr)
                    return 1
            time.sleep(0.5)
        return 0
    finally:
        print("\nStoppe Dienste …", flush=True)
        if stack is not None:
            stack.stop()
        infrastructure.stop()
        print("Alle Dienste gestoppt.", flush=True)


def main() -> None:
    try:
        raise SystemExit(run())
    except BotError as error:
        print(f"Fehler: {error}", file=sys.stderr)
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
