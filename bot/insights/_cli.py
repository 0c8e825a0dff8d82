"""``python -m bot insights`` (report) and ``python -m bot demo-traffic``."""

from __future__ import annotations

import argparse
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

from bot.errors import BotError
from bot.settings import Settings


def parse_since(value: str) -> timedelta:
    match = re.fullmatch(r"\s*(\d{1,3})\s*([dhw])\s*", value or "")
    if not match:
        raise argparse.ArgumentTypeError("use e.g. 7d, 36h or 2w")
    number, unit = int(match.group(1)), match.group(2)
    span = {"d": timedelta(days=number), "h": timedelta(hours=number),
            "w": timedelta(weeks=number)}[unit]
    if not timedelta(hours=1) <= span <= timedelta(days=366):
        raise argparse.ArgumentTypeError("between 1h and 366d")
    return span


def _cmd_insights(args: argparse.Namespace, settings: Settings) -> int:
    from bot.database import transaction
    from bot.insights._render import percent, write_report
    from bot.insights._report import build_report
    from bot.insights._signals import hour_of, rebuild
    from bot.insights._worker import Insights
    from bot.models import utcnow

    insights = Insights.open(settings)
    try:
        if args.rebuild:
            rebuild(insights.sessions)
        insights.aggregate()
        end = hour_of(utcnow()) + timedelta(hours=1)
        with transaction(insights.sessions) as session:
            report = build_report(session, end - args.since, end, settings.timezone)
    finally:
        insights.close()
    files = write_report(report, Path(args.out))
    rate = report.automation_rate
    print(f"{report.totals.get('message', 0)} Nachrichten, "
          f"{report.totals.get('conversation', 0)} Gespräche, Automatisierungsquote "
          f"{percent(rate)}, {len(report.alerts)} Frühwarnungen")
    for path in files:
        print(f"  {path}")
    return 0


def _cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    from bot.insights._demo import play

    def progress(done: int, total: int) -> None:
        print(f"  {done}/{total} Gespräche gespielt", flush=True)

    print(f"Spiele {args.days} Tage Demo-Verkehr durch den Bot unter {settings.rasa_url} …",
          flush=True)
    result = play(settings, args.days, per_day=args.per_day, seed=args.seed,
                  incident=not args.no_incident, progress=progress)
    print(f"{result.conversations} Gespräche, {result.messages} Nachrichten, "
          f"{result.handoffs} Übergaben; davon {result.incident_conversations} Gespräche im "
          "geplanten Vorfall (beschädigte Pakete, vorgestern ab 10 Uhr); "
          f"{result.alerts} Frühwarnung(en) erkannt.")
    print("Bericht: python -m bot insights --since 7d --out var/insights  "
          "(oder Seite „Trends“ in der Inbox)")
    return 0


def _days(value: str) -> float:
    try:
        days = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError("a number of days") from None
    if not 0 < days <= 60:
        raise argparse.ArgumentTypeError("between 1 and 60 days")
    return days


def add_commands(sub: Any) -> None:
    insights = sub.add_parser("insights", help="weekly report: HTML with plots + CSV files")
    insights.add_argument("--since", type=parse_since, default=parse_since("7d"),
                          help="period up to now, e.g. 7d (default), 36h, 2w")
    insights.add_argument("--out", required=True, help="folder for report.html and *.csv")
    insights.add_argument("--rebuild", action="store_true",
                          help="count everything again from the stores first")
    insights.set_defaults(handler=_cmd_insights)
    demo = sub.add_parser("demo-traffic",
                          help="play realistic back-dated history through the running bot")
    demo.add_argument("--days", type=_days, default=30.0)
    demo.add_argument("--per-day", type=float, default=60.0,
                      help="conversations per day on average (default 60)")
    demo.add_argument("--seed", type=int, default=15)
    demo.add_argument("--no-incident", action="store_true",
                      help="without the planted damaged-parcels incident")
    demo.set_defaults(handler=_cmd_demo)


__all__ = ["BotError", "add_commands", "parse_since"]
