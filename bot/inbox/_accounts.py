"""Account management for admins in the inbox (``/inbox/agents``): add an account with a
one-time password shown once, disable/enable, reset the password, change the role. The inbox's
``guard`` middleware requires a login and the CSRF token on POSTs; every handler here also
requires the admin role (403 for everyone else). Database work runs in a worker thread."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, List, Optional

from aiohttp import web
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.errors import BotError
from bot.inbox._auth import end_all_sessions, role_of
from bot.inbox._context import agent_of, inbox_of
from bot.inbox._models import ROLES, Agent
from bot.inbox._passwords import generate_password, hash_password
from bot.inbox._render import render

ROLE_NAMES = {"agent": "Community Manager", "trainer": "Trainer", "admin": "Admin"}
MAX_NAME = 64


class AccountError(BotError):
    """A refused change; the message is German text for the admin."""


@dataclass(frozen=True)
class Outcome:
    notice: str
    password: str = ""  # a one-time password to show exactly once
    name: str = ""


def _admin(request: web.Request) -> Any:
    agent = agent_of(request)
    if not agent.is_admin:
        raise web.HTTPForbidden(text="Nur Admins dürfen Accounts verwalten.")
    return agent


def _rows(session: Session) -> List[Dict[str, Any]]:
    return [
        {"id": a.id, "name": a.name, "role": role_of(a), "active": bool(a.active),
         "must_change": bool(a.must_change_password)}
        for a in session.execute(select(Agent).order_by(Agent.name)).scalars()
    ]


def _active_admins(session: Session) -> int:
    return int(session.execute(
        select(func.count(Agent.id)).where(Agent.active.is_(True), Agent.is_admin.is_(True))
    ).scalar_one())


def _target(session: Session, raw: str) -> Agent:
    agent = session.get(Agent, int(raw)) if raw.isdigit() else None
    if agent is None:
        raise AccountError("Diesen Account gibt es nicht.")
    return agent


def apply(session: Session, form: Dict[str, str], me_id: int) -> Outcome:
    """One admin decision (``action``: add, disable, enable, reset, role)."""
    action = form.get("action", "")
    if action == "add":
        name = " ".join(form.get("name", "").split())
        role = form.get("role", "agent")
        if not name or len(name) > MAX_NAME or not name.isprintable():
            raise AccountError(f"Der Name muss 1–{MAX_NAME} druckbare Zeichen lang sein.")
        if role not in ROLES:
            raise AccountError("Unbekannte Rolle.")
        if session.execute(select(Agent).where(Agent.name == name)).scalars().first():
            raise AccountError(f"„{name}“ gibt es schon.")
        password = generate_password()
        agent = Agent(name=name, password_hash=hash_password(password), active=True,
                      must_change_password=True)
        agent.set_role(role)
        session.add(agent)
        return Outcome(f"{ROLE_NAMES[role]} „{name}“ angelegt.", password, name)
    agent = _target(session, form.get("agent_id", ""))
    is_me = agent.id == me_id
    if action == "disable":
        if is_me:
            raise AccountError("Du kannst dich nicht selbst deaktivieren.")
        agent.active = False
        end_all_sessions(session, agent.id)
        return Outcome(f"„{agent.name}“ deaktiviert und abgemeldet.")
    if action == "enable":
        agent.active = True
        return Outcome(f"„{agent.name}“ ist wieder aktiv.")
    if action == "reset":
        password = generate_password()
        agent.password_hash = hash_password(password)
        agent.must_change_password = True
        end_all_sessions(session, agent.id)
        return Outcome(f"Neues Einmal-Passwort für „{agent.name}“; alle Sitzungen beendet.",
                       password, str(agent.name))
    if action == "role":
        role = form.get("role", "")
        if role not in ROLES:
            raise AccountError("Unbekannte Rolle.")
        if agent.is_admin and role != "admin" and _active_admins(session) <= 1:
            raise AccountError("Es muss mindestens ein aktiver Admin bleiben.")
        agent.set_role(role)
        return Outcome(f"„{agent.name}“ ist jetzt {ROLE_NAMES[role]}.")
    raise AccountError("Unbekannte Aktion.")


async def _page(request: web.Request, outcome: Optional[Outcome] = None, error: str = "",
                status: int = 200) -> web.Response:
    inbox = inbox_of(request)
    rows = await inbox.db().run(_rows)
    response = web.Response(
        text=render(inbox.templates, "agents.html", me=agent_of(request), page="agents",
                    rows=rows, roles=ROLE_NAMES, outcome=outcome, error=error),
        status=status, content_type="text/html", charset="utf-8",
    )
    response.headers["Cache-Control"] = "no-store"  # a one-time password may be on it
    return response


async def agents_page(request: web.Request) -> web.StreamResponse:
    _admin(request)
    return await _page(request)


async def agents_change(request: web.Request) -> web.StreamResponse:
    me = _admin(request)
    posted = await request.post()
    form = {key: str(value) for key, value in posted.items() if isinstance(value, str)}
    try:
        outcome = await inbox_of(request).db().run(lambda s: apply(s, form, int(me.agent_id)))
    except AccountError as error:
        return await _page(request, error=str(error), status=400)
    return await _page(request, outcome=outcome)


def add_routes(app: web.Application) -> None:
    app.router.add_get("/inbox/agents", agents_page)
    app.router.add_post("/inbox/agents", agents_change)
