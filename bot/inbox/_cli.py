"""``python -m bot agent ...``: manage community-manager accounts of the inbox."""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import Any, Callable, Optional

from sqlalchemy import select

from bot.inbox._auth import end_all_sessions, role_of
from bot.inbox._models import ROLES, Agent
from bot.inbox._passwords import generate_password, hash_password
from bot.inbox._store import InboxStore
from bot.settings import Settings


def _read_password(args: argparse.Namespace) -> tuple[str, bool]:
    """(password, generated). ``--password-stdin`` reads one line; otherwise one is generated."""
    if args.password_stdin:
        if sys.stdin.isatty():
            password = getpass.getpass("Passwort: ")
        else:
            password = sys.stdin.readline().rstrip("\r\n")
        return password, False
    return generate_password(), True


def _new_password(args: argparse.Namespace) -> tuple[str, str, bool]:
    """(password, its hash, generated?); a weak password raises WeakPasswordError (exit 2)."""
    password, generated = _read_password(args)
    return password, hash_password(password), generated


def _update_agent(
    settings: Settings, name: str, update: Callable[[Any, Agent], None]
) -> bool:
    """Apply ``update`` to the agent called ``name`` in one transaction; False if none."""
    store = InboxStore.open(settings.support_db_url)
    try:
        def apply(session: Any) -> bool:
            agent = session.execute(select(Agent).where(Agent.name == name)).scalars().first()
            if agent is None:
                return False
            update(session, agent)
            return True

        return bool(store.call(apply))
    finally:
        store.close()


ROLE_NAMES = {"agent": "Community Manager", "trainer": "Trainer", "admin": "Admin"}


def _role(args: argparse.Namespace) -> Optional[str]:
    """``--role``, or ``admin`` for the older ``--admin`` flag; None if both disagree."""
    if args.admin and args.role not in (None, "admin"):
        return None
    return "admin" if args.admin else str(args.role or "agent")


def _add(args: argparse.Namespace, settings: Settings) -> int:
    name = args.name.strip()
    if not name or len(name) > 64:
        print("Fehler: der Name muss 1–64 Zeichen lang sein.", file=sys.stderr)
        return 2
    role = _role(args)
    if role is None:
        print(f"Fehler: --admin und --role {args.role} widersprechen sich.", file=sys.stderr)
        return 2
    password, hashed, generated = _new_password(args)
    store = InboxStore.open(settings.support_db_url)
    try:
        def add(session: Any) -> bool:
            existing = session.execute(select(Agent).where(Agent.name == name)).scalars().first()
            if existing is not None:
                return False
            agent = Agent(name=name, password_hash=hashed, active=True,
                          must_change_password=True)
            agent.set_role(role)
            session.add(agent)
            return True

        if not store.call(add):
            print(f"Fehler: {name!r} gibt es schon (neues Passwort: "
                  f"python -m bot agent password {name}).", file=sys.stderr)
            return 1
    finally:
        store.close()
    print(f"{ROLE_NAMES[role]} {name!r} angelegt.")
    if generated:
        print(f"Einmal-Passwort (wird nicht noch einmal angezeigt): {password}")
    print("Bei der ersten Anmeldung muss ein eigenes Passwort gesetzt werden; vorher geht "
          "nichts anderes.")
    return 0


def _password(args: argparse.Namespace, settings: Settings) -> int:
    password, hashed, generated = _new_password(args)
    def change(session: Any, agent: Agent) -> None:
        agent.password_hash = hashed
        agent.must_change_password = True
        end_all_sessions(session, agent.id)

    if not _update_agent(settings, args.name, change):
        print(f"Fehler: {args.name!r} gibt es nicht.", file=sys.stderr)
        return 1
    print(f"Passwort von {args.name!r} geändert; alle Sitzungen beendet. Bei der nächsten "
          "Anmeldung muss ein eigenes Passwort gesetzt werden.")
    if generated:
        print(f"Einmal-Passwort: {password}")
    return 0


def _set_role(args: argparse.Namespace, settings: Settings) -> int:
    def change(session: Any, agent: Agent) -> None:
        agent.set_role(args.role)

    if not _update_agent(settings, args.name, change):
        print(f"Fehler: {args.name!r} gibt es nicht.", file=sys.stderr)
        return 1
    print(f"{args.name!r} ist jetzt {ROLE_NAMES[args.role]}.")
    return 0


def _set_active(args: argparse.Namespace, settings: Settings, active: bool) -> int:
    def toggle(session: Any, agent: Agent) -> None:
        agent.active = active
        if not active:
            end_all_sessions(session, agent.id)

    if not _update_agent(settings, args.name, toggle):
        print(f"Fehler: {args.name!r} gibt es nicht.", file=sys.stderr)
        return 1
    print(f"{args.name!r} {'aktiviert' if active else 'deaktiviert (abgemeldet)'}.")
    return 0


def _disable(args: argparse.Namespace, settings: Settings) -> int:
    return _set_active(args, settings, False)


def _enable(args: argparse.Namespace, settings: Settings) -> int:
    return _set_active(args, settings, True)


def _list(args: argparse.Namespace, settings: Settings) -> int:
    store = InboxStore.open(settings.support_db_url)
    try:
        agents = store.call(
            lambda session: [
                (a.name, role_of(a), bool(a.active), bool(a.must_change_password))
                for a in session.execute(select(Agent).order_by(Agent.name)).scalars()
            ]
        )
    finally:
        store.close()
    if not agents:
        print("Noch keine Accounts. Anlegen: python -m bot agent add NAME --admin")
    for name, role, active, must_change in agents:
        marks = (
            ROLE_NAMES[role] if role != "agent" else "",
            "" if active else "deaktiviert",
            "Einmal-Passwort" if must_change else "",
        )
        flags = ", ".join(mark for mark in marks if mark)
        print(f"{name}{f'  ({flags})' if flags else ''}")
    return 0


def add_commands(subparsers: Any) -> None:
    agent = subparsers.add_parser("agent", help="manage inbox accounts (community managers)")
    commands = agent.add_subparsers(dest="agent_command", required=True, metavar="ACTION")
    add = commands.add_parser("add", help="create an account; prints a one-time password")
    add.add_argument("name")
    add.add_argument("--role", choices=ROLES, default=None,
                     help="agent (default): the inbox; trainer: also the trainer page; "
                     "admin: also canned responses")
    add.add_argument("--admin", action="store_true", help="same as --role admin")
    add.add_argument("--password-stdin", action="store_true",
                     help="read the password from stdin instead of generating one")
    add.set_defaults(handler=_add)
    password = commands.add_parser("password", help="set a new password (ends all sessions)")
    password.add_argument("name")
    password.add_argument("--password-stdin", action="store_true")
    password.set_defaults(handler=_password)
    role = commands.add_parser("role", help="change an account's role")
    role.add_argument("name")
    role.add_argument("role", choices=ROLES)
    role.set_defaults(handler=_set_role)
    disable = commands.add_parser("disable", help="lock an account and end its sessions")
    disable.add_argument("name")
    disable.set_defaults(handler=_disable)
    enable = commands.add_parser("enable", help="unlock an account")
    enable.add_argument("name")
    enable.set_defaults(handler=_enable)
    commands.add_parser("list", help="list accounts").set_defaults(handler=_list)
