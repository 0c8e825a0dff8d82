"""``python -m bot customer export|delete|purge``: answer Art. 15/17 requests, apply retention."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, Dict

from bot.privacy._logs import PRIVATE_FILE, create_private_file, pseudonym
from bot.privacy._report import STORE_NAMES, render_text
from bot.privacy._retention import purge
from bot.privacy._stores import Stores, collect, delete_customer, sender_ids_for
from bot.settings import Settings


def _write_private(path: Path, content: str) -> None:
    create_private_file(path)
    path.write_text(content, encoding="utf-8")
    path.chmod(PRIVATE_FILE)


def export_json(data: Any) -> str:
    return json.dumps(data.as_json(), ensure_ascii=False, indent=2, default=str) + "\n"


def _print_counts(counts: Dict[str, int], verb: str) -> None:
    width = max((len(name) for name in counts), default=0)
    for name, count in counts.items():
        print(f"  {name:<{width}}  {count:>6} {verb}")
    print(f"  {'zusammen':<{width}}  {sum(counts.values()):>6} {verb}")


def _export(args: argparse.Namespace, settings: Settings) -> int:
    data = collect(Stores.from_settings(settings), args.sender)
    if args.out == "-":
        sys.stdout.write(export_json(data))
        return 0 if data.found else 1
    if not data.found:
        print(f"Keine Daten zu {', '.join(data.sender_ids)} gespeichert.")
        return 1
    out = (
        Path(args.out)
        if args.out
        else (
            settings.var_dir / "exports" / f"{pseudonym(data.sender_ids[0])}-"
            f"{data.generated_at:%Y%m%d-%H%M%S}.json"
        )
    )
    text_file = out.with_suffix(".txt")
    _write_private(out, export_json(data))
    _write_private(text_file, render_text(data, settings.retention_days))
    print(f"Datenauskunft für {', '.join(data.matched_ids)}:")
    for name, count in data.counts().items():
        if count:
            print(f"  {STORE_NAMES.get(name, name)}: {count}")
    print(f"JSON (maschinenlesbar): {out}")
    print(f"Text (für den Kunden):  {text_file}")
    print("Beide Dateien enthalten personenbezogene Daten: nach dem Versand löschen.")
    return 0


def _delete(args: argparse.Namespace, settings: Settings) -> int:
    stores = Stores.from_settings(settings)
    ids = sender_ids_for(args.sender)
    planned = delete_customer(stores, args.sender, dry_run=True)
    if not any(planned.values()):
        print(f"Zu {', '.join(ids)} ist nichts (mehr) gespeichert; nichts zu löschen.")
        return 0
    print(f"Lösche alle Daten zu {', '.join(ids)} (Bestellungen im Shop bleiben):")
    _print_counts(planned, "Einträge")
    if not args.yes:
        if not sys.stdin.isatty():
            print("Abgebrochen: ohne Terminal nur mit --yes.", file=sys.stderr)
            return 2
        answer = input("Endgültig löschen? Tippe 'ja': ").strip().lower()
        if answer != "ja":
            print("Abgebrochen; nichts gelöscht.")
            return 1
    counts = delete_customer(stores, args.sender)
    print("Gelöscht:")
    _print_counts(counts, "gelöscht")
    return 0


def _purge(args: argparse.Namespace, settings: Settings) -> int:
    days = settings.retention_days if args.days is None else args.days
    if days <= 0:
        print("RETENTION_DAYS ist 0 (für immer aufbewahren); mit --days N eine Frist angeben.")
        return 0
    result = purge(Stores.from_settings(settings), days, dry_run=args.dry_run)
    verb = "würden gelöscht" if args.dry_run else "gelöscht"
    print(
        f"{len(result.senders)} Gespräch(e) ohne Aktivität seit {result.cutoff:%d.%m.%Y} "
        f"({days} Tage) {verb}."
    )
    if result.counts:
        _print_counts(result.counts, verb)
    return 0


def add_commands(sub: Any) -> None:
    customer = sub.add_parser(
        "customer", help="data protection: export, delete or purge customer data (DSGVO)"
    )
    commands = customer.add_subparsers(dest="customer_command", required=True, metavar="ACTION")
    export = commands.add_parser(
        "export", help="everything stored about a customer: JSON + German text (Art. 15)"
    )
    export.add_argument(
        "sender", help="sender id (e.g. whatsapp:+49170…, a Telegram chat id) or a phone number"
    )
    export.add_argument(
        "--out",
        help="JSON file (the German text goes next to it as .txt); "
        "'-' prints the JSON; default var/exports/",
    )
    export.set_defaults(handler=_export)
    remove = commands.add_parser("delete", help="delete a customer from every store (Art. 17)")
    remove.add_argument("sender", help="sender id or phone number")
    remove.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    remove.set_defaults(handler=_delete)
    retention = commands.add_parser(
        "purge", help="delete conversations without activity for RETENTION_DAYS days"
    )
    retention.add_argument("--days", type=int, help="instead of RETENTION_DAYS")
    retention.add_argument("--dry-run", action="store_true", help="only count")
    retention.set_defaults(handler=_purge)
