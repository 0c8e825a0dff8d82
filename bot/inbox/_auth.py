"""Agent log-in: sessions (hashed cookie tokens in the database), CSRF tokens, roles.

Throttling of log-in attempts is in :mod:`bot.inbox._throttle`."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Optional, Tuple

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from bot.inbox._models import ROLES, Agent, AgentSession
from bot.inbox._passwords import dummy_hash, verify_password

SESSION_COOKIE = "inbox_session"
LOGIN_COOKIE = "inbox_login"
SESSION_LIFETIME = timedelta(hours=12)
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class LoggedIn:
    """The agent behind a request, detached from the database session."""

    agent_id: int
    name: str
    role: str
    csrf_token: str
    session_id: int
    must_change_password: bool = False

    def has_role(self, role: str) -> bool:
        """True if the agent's role is ``role`` or one that includes it (admin ⊃ trainer)."""
        mine = self.role if self.role in ROLES else "agent"
        return ROLES.index(mine) >= ROLES.index(role)

    @property
    def is_admin(self) -> bool:
        return self.has_role("admin")

    @property
    def is_trainer(self) -> bool:
        return self.has_role("trainer")

    def as_agent(self) -> Agent:
        return Agent(id=self.agent_id, name=self.name, is_admin=self.is_admin, role=self.role,
                     active=True)


def role_of(agent: Agent) -> str:
    """The agent's role; rows from before roles only know ``is_admin``."""
    role = str(agent.role or "")
    if role in ROLES:
        return "admin" if agent.is_admin and role == "agent" else role
    return "admin" if agent.is_admin else "agent"


def _logged_in(agent: Agent, record: AgentSession) -> LoggedIn:
    return LoggedIn(agent.id, agent.name, role_of(agent), record.csrf_token, record.id,
                    bool(agent.must_change_password))


_DUMMY_HASH: Optional[str] = None


def authenticate(session: Session, name: str, password: str) -> Optional[Agent]:
    """The active agent with this name and password, else None (same work either way)."""
    global _DUMMY_HASH
    agent = session.execute(
        select(Agent).where(Agent.name == name.strip())
    ).scalars().first()
    if agent is None or not agent.active:
        if _DUMMY_HASH is None:
            _DUMMY_HASH = dummy_hash()
        verify_password(password, _DUMMY_HASH)
        return None
    return agent if verify_password(password, agent.password_hash) else None


def create_session(session: Session, agent: Agent, now: datetime) -> Tuple[str, LoggedIn]:
    """A new login; returns the cookie value (only its hash is stored)."""
    session.execute(delete(AgentSession).where(AgentSession.expires_at < now))
    token = secrets.token_urlsafe(32)
    record = AgentSession(
        token_hash=_token_hash(token),
        agent_id=agent.id,
        csrf_token=secrets.token_urlsafe(32),
        created_at=now,
        expires_at=now + SESSION_LIFETIME,
    )
    session.add(record)
    session.flush()
    return token, _logged_in(agent, record)


def lookup_session(session: Session, token: str, now: datetime) -> Optional[LoggedIn]:
    if not token or len(token) > 200:
        return None
    row = session.execute(
        select(AgentSession, Agent)
        .join(Agent, Agent.id == AgentSession.agent_id)
        .where(AgentSession.token_hash == _token_hash(token))
    ).first()
    if row is None:
        return None
    record, agent = row
    if record.expires_at <= now or not agent.active:
        return None
    return _logged_in(agent, record)


def end_session(session: Session, session_id: int) -> None:
    session.execute(delete(AgentSession).where(AgentSession.id == session_id))


def end_all_sessions(session: Session, agent_id: int) -> None:
    session.execute(delete(AgentSession).where(AgentSession.agent_id == agent_id))


def tokens_match(expected: str, given: Optional[str]) -> bool:
    return bool(given) and hmac.compare_digest(expected.encode(), str(given).encode())


# --- CSRF for the login form (no session yet): a signed nonce, double-submitted -----------

def login_nonce() -> str:
    return secrets.token_urlsafe(24)


def sign_nonce(secret: str, nonce: str) -> str:
    mac = hmac.new(secret.encode(), f"login:{nonce}".encode(), hashlib.sha256).hexdigest()
    return f"{nonce}.{mac}"


def check_login_token(secret: str, cookie_nonce: Optional[str], form_token: Optional[str]) -> bool:
    if not cookie_nonce or not form_token:
        return False
    return hmac.compare_digest(sign_nonce(secret, cookie_nonce).encode(), form_token.encode())
