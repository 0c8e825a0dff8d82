"""Agent log-in: sessions (hashed cookie tokens in the database), CSRF tokens, rate limiting."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Deque, Dict, Optional, Tuple

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from bot.inbox._models import Agent, AgentSession
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
    is_admin: bool
    csrf_token: str
    session_id: int

    def as_agent(self) -> Agent:
        return Agent(id=self.agent_id, name=self.name, is_admin=self.is_admin, active=True)


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
    return token, LoggedIn(agent.id, agent.name, bool(agent.is_admin), record.csrf_token, record.id)


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
    return LoggedIn(agent.id, agent.name, bool(agent.is_admin), record.csrf_token, record.id)


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


class LoginLimiter:
    """Failed logins per client address and per agent name within a sliding window."""

    def __init__(self, per_name: int = 5, per_address: int = 20, window: float = 300.0) -> None:
        self.per_name = per_name
        self.per_address = per_address
        self.window = window
        self._failures: Dict[str, Deque[float]] = {}

    def _recent(self, key: str, now: float) -> Deque[float]:
        entries = self._failures.setdefault(key, deque())
        while entries and entries[0] <= now - self.window:
            entries.popleft()
        return entries

    def blocked(self, address: str, name: str, now: Optional[float] = None) -> bool:
        now = time.monotonic() if now is None else now
        return (
            len(self._recent(f"name:{name.strip().lower()}", now)) >= self.per_name
            or len(self._recent(f"addr:{address}", now)) >= self.per_address
        )

    def failed(self, address: str, name: str, now: Optional[float] = None) -> None:
        now = time.monotonic() if now is None else now
        self._recent(f"name:{name.strip().lower()}", now).append(now)
        self._recent(f"addr:{address}", now).append(now)
        if len(self._failures) > 10000:  # bound memory under a flood of names
            self._failures = {k: v for k, v in self._failures.items() if v}

    def succeeded(self, name: str) -> None:
        self._failures.pop(f"name:{name.strip().lower()}", None)
