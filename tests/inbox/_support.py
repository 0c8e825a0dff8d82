"""Test helpers for the inbox: a fake Rasa HTTP API that writes Rasa's SQL event-broker table,
settings on temporary databases, agents, and logging in through the real login form."""

from __future__ import annotations

import asyncio
import functools
import json
import re
import secrets
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Awaitable, Callable, Dict, List, Optional, TypeVar

import jwt
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import create_engine, text

from bot.database import transaction
from bot.handoff import HandoffRequest, handoff
from bot.inbox._models import Agent
from bot.inbox._passwords import hash_password
from bot.inbox._store import InboxStore
from bot.models import Handoff
from bot.rasa_auth import jwt_secret
from bot.settings import Settings, load_settings

T = TypeVar("T")
PASSWORD = "sehr-geheim-123"


def run_async(test: Callable[..., Awaitable[T]]) -> Callable[..., T]:
    """Run an ``async def`` test on a fresh event loop (no pytest plugin needed)."""

    @functools.wraps(test)
    def wrapper(*args: Any, **kwargs: Any) -> T:
        return asyncio.run(test(*args, **kwargs))  # type: ignore[arg-type]

    return wrapper


def utc(*args: int) -> datetime:
    return datetime(*args)  # naive UTC, the form stored in the database


class BrokerTable:
    """Rasa's SQLEventBroker table ``events(id, sender_id, data)``, written like Rasa does."""

    def __init__(self, url: str) -> None:
        self.engine = create_engine(url, future=True)
        with self.engine.begin() as connection:
            connection.execute(text(
                "CREATE TABLE IF NOT EXISTS events (id INTEGER PRIMARY KEY, "
                "sender_id VARCHAR(255), data TEXT)"
            ))

    def publish(self, sender: str, event: Dict[str, Any]) -> None:
        with self.engine.begin() as connection:
            connection.execute(
                text("INSERT INTO events (sender_id, data) VALUES (:sender, :data)"),
                {"sender": sender, "data": json.dumps({**event, "sender_id": sender})},
            )

    def count(self) -> int:
        with self.engine.connect() as connection:
            return int(connection.execute(text("SELECT COUNT(*) FROM events")).scalar_one())


@dataclass
class FakeRasa:
    """Rasa's HTTP API as far as the inbox uses it: trackers and appending events."""

    token: str
    broker: BrokerTable
    trackers: Dict[str, List[Dict[str, Any]]] = field(default_factory=dict)
    appended: List[Dict[str, Any]] = field(default_factory=list)
    rest_messages: List[Dict[str, Any]] = field(default_factory=list)
    # When set, the REST channel answers with these texts and keeps both turns in the tracker
    # (like Rasa); otherwise it answers "Hallo!" and records nothing.
    rest_answers: Optional[List[str]] = None
    # When set, the REST channel answers only once this is set (a slow bot, deterministically).
    rest_gate: Optional[asyncio.Event] = None
    delivery_error: Optional[str] = None
    # Called with the sender when delivery_error applies: what the channel records (its row).
    on_delivery_error: Optional[Callable[[str], None]] = None
    urls: List[str] = field(default_factory=list)

    def record(self, sender: str, event: Dict[str, Any]) -> Dict[str, Any]:
        event = {**event}
        event.setdefault("timestamp", time.time())
        self.trackers.setdefault(sender, []).append(event)
        self.broker.publish(sender, event)
        return event

    def app(self) -> web.Application:
        app = web.Application()

        def check(request: web.Request) -> None:
            # Like Rasa started by bot.rasa_server: a JWT signed with the secret derived from
            # RASA_TOKEN in the Authorization header. The token itself must never be in a URL.
            self.urls.append(str(request.rel_url))
            if "token" in request.query:
                raise web.HTTPBadRequest(text="RASA_TOKEN in the URL")
            scheme, _, bearer = request.headers.get("Authorization", "").partition(" ")
            try:
                claims = jwt.decode(bearer, jwt_secret(self.token), algorithms=["HS256"])
            except jwt.PyJWTError:
                raise web.HTTPUnauthorized() from None
            if scheme != "Bearer" or claims.get("user", {}).get("role") != "admin":
                raise web.HTTPForbidden()

        async def tracker(request: web.Request) -> web.Response:
            check(request)
            sender = request.match_info["sender"]
            return web.json_response({"sender_id": sender, "slots": {},
                                      "events": self.trackers.get(sender, [])})

        async def append(request: web.Request) -> web.Response:
            check(request)
            sender = request.match_info["sender"]
            assert request.query.get("output_channel") == "latest"
            assert request.query.get("execute_side_effects") == "true"
            events = await request.json()
            if self.delivery_error and any(e.get("event") == "bot" for e in events):
                if self.on_delivery_error is not None:
                    self.on_delivery_error(sender)
                return web.json_response(
                    {"status": "failure", "message":
                     f"An unexpected error occurred. Error: {self.delivery_error}"},
                    status=500,
                )
            for event in events:
                self.appended.append({"sender": sender, **event})
                self.record(sender, event)
            return web.json_response({"sender_id": sender})

        async def rest(request: web.Request) -> web.Response:
            body = await request.json()
            self.rest_messages.append(body)
            if self.rest_gate is not None:
                await self.rest_gate.wait()
            if self.rest_answers is None:
                return web.json_response([{"recipient_id": body["sender"], "text": "Hallo!"}])
            self.record(body["sender"], {"event": "user", "text": body["message"]})
            for answer in self.rest_answers:
                self.record(body["sender"], {"event": "bot", "text": answer})
            return web.json_response(
                [{"recipient_id": body["sender"], "text": a} for a in self.rest_answers]
            )

        app.router.add_post("/webhooks/rest/webhook", rest)
        app.router.add_get("/conversations/{sender}/tracker", tracker)
        app.router.add_post("/conversations/{sender}/tracker/events", append)
        return app


def make_settings(tmp_path: Path, rasa_port: int = 9, **extra: str) -> Settings:
    env = {
        "BOT_VAR_DIR": str(tmp_path),
        "RASA_PORT": str(rasa_port),
        "RASA_TOKEN": "test-token",
        "INBOX_SECRET_KEY": secrets.token_urlsafe(16),
        "HANDOFF_WAIT_MINUTES": "10",
        **extra,
    }
    return load_settings(env)


def add_agent(store: InboxStore, name: str, admin: bool = False, password: str = PASSWORD,
              role: str = "agent") -> int:
    def add(session: Any) -> int:
        agent = Agent(name=name, password_hash=hash_password(password), active=True)
        agent.set_role("admin" if admin else role)
        session.add(agent)
        session.flush()
        return int(agent.id)

    return store.call(add)


def create_handoff(store: InboxStore, sender: str, text_: str = "Ich will einen Menschen",
                   channel: str = "telegram", reason: str = "customer_request",
                   now: Optional[datetime] = None, outside: bool = False,
                   order_number: Optional[str] = None) -> int:
    request = HandoffRequest(sender_id=sender, channel=channel, reason=reason, confidence=0.42,
                             last_message=text_, order_number=order_number)
    with transaction(store.sessions) as session:
        record = handoff(session, request, now=now or datetime.now(timezone.utc), outside=outside)
        return int(record.id)


def escalate(rasa: FakeRasa, store: InboxStore, sender: str, words: str = "Ich will einen Menschen",
             **kwargs: Any) -> int:
    """What Rasa + action_handoff do: user event, record, notice, pause (broker rows in order)."""
    rasa.record(sender, {"event": "user", "text": words,
                         "parse_data": {"intent": {"name": "request_human"}},
                         "input_channel": kwargs.get("channel", "telegram")})
    handoff_id = create_handoff(store, sender, words, **kwargs)
    rasa.record(sender, {"event": "action", "name": "action_handoff"})
    rasa.record(sender, {"event": "bot", "text": "Ich gebe dein Anliegen an mein Team weiter."})
    rasa.record(sender, {"event": "pause"})
    return handoff_id


def customer_says(rasa: FakeRasa, sender: str, words: str,
                  metadata: Optional[Dict[str, Any]] = None) -> None:
    event: Dict[str, Any] = {"event": "user", "text": words}
    if metadata:
        event["metadata"] = metadata
    rasa.record(sender, event)


def record_media(settings: Settings, channel: str, sender: str, reference: str,
                 kind: str = "photo", content_type: str = "image/jpeg") -> None:
    """What a messenger channel stores for a customer's attachment (``channel_media``)."""
    from channels._store import ChannelStore, MediaItem

    store = ChannelStore.from_url(settings.support_db_url)
    store.ensure_schema()
    store.record_media(channel, sender, f"ext-{reference[-8:]}",
                       [MediaItem(kind, reference, content_type)], None)
    store.engine.dispose()


def record_failed_delivery(settings: Settings, channel: str, sender: str, text: str,
                           reason: str) -> None:
    """What a messenger channel stores when it finally cannot deliver (``channel_deliveries``)."""
    from channels._store import ChannelStore

    store = ChannelStore.from_url(settings.support_db_url)
    store.ensure_schema()
    store.record_delivery(channel, sender, status="failed", text=text, reason=reason,
                          provider_detail="provider said no")
    store.engine.dispose()


def get_handoff(store: InboxStore, handoff_id: int) -> Handoff:
    return store.call(lambda session: session.get(Handoff, handoff_id))


CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)">')
LOGIN_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


async def login(client: TestClient, name: str, password: str = PASSWORD) -> str:
    """Log in through the form; returns the session's CSRF token (from the inbox page)."""
    page = await client.get("/login")
    token = LOGIN_TOKEN.search(await page.text())
    assert token, "login form has a CSRF token"
    response = await client.post(
        "/login", data={"name": name, "password": password, "csrf_token": token.group(1)},
        allow_redirects=False,
    )
    assert response.status == 302, await response.text()
    assert response.headers["Location"] == "/inbox"
    inbox = await client.get("/inbox")
    match = CSRF_META.search(await inbox.text())
    assert match
    return match.group(1)


async def post_json(client: TestClient, path: str, csrf: str, body: Any = None) -> Any:
    return await client.post(path, json=body or {}, headers={"X-CSRF-Token": csrf})


async def start_fake_rasa(rasa: FakeRasa) -> TestServer:
    server = TestServer(rasa.app(), host="127.0.0.1")
    await server.start_server()
    return server


class MovableClock:
    """A clock the test can move: naive UTC."""

    def __init__(self, start: Optional[datetime] = None) -> None:
        self.now = start or datetime.now(timezone.utc).replace(tzinfo=None)

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Harness:
    """The inbox app on loopback HTTP with a fake Rasa and the real SQLite support DB."""

    settings: Settings
    rasa: FakeRasa
    rasa_server: TestServer
    app: web.Application
    server: TestServer
    clock: MovableClock
    clients: List[TestClient] = field(default_factory=list)

    @property
    def store(self) -> InboxStore:
        from bot.inbox._context import INBOX_KEY

        return self.app[INBOX_KEY].db()

    @property
    def inbox(self) -> Any:
        from bot.inbox._context import INBOX_KEY

        return self.app[INBOX_KEY]

    async def client(self) -> TestClient:
        client = TestClient(self.server)
        await client.start_server()
        self.clients.append(client)
        return client

    async def consume(self) -> int:
        """Run the event-broker consumer until it has caught up."""
        from bot.inbox._broker import SqlBrokerReader, consume_once
        from bot.inbox._views import publish_outcome

        reader = SqlBrokerReader(f"sqlite:///{self.settings.var_dir / 'events.db'}")
        total = 0
        try:
            while True:
                read = await consume_once(
                    self.store, reader, self.clock,
                    lambda outcome: publish_outcome(self.inbox, outcome),
                )
                total += read
                if read == 0:
                    return total
        finally:
            reader.close()

    async def close(self) -> None:
        for client in self.clients:
            await client.close()
        await self.server.close()
        await self.rasa_server.close()


async def start_harness(tmp_path: Path, clock: Optional[MovableClock] = None,
                        **extra: str) -> Harness:
    from bot.inbox import create_app

    broker = BrokerTable(f"sqlite:///{tmp_path / 'events.db'}")
    rasa = FakeRasa(token="test-token", broker=broker)
    rasa_server = await start_fake_rasa(rasa)
    settings = make_settings(tmp_path, rasa_port=int(rasa_server.port or 0), **extra)
    clock = clock or MovableClock()
    app = create_app(settings, clock=clock, background=False)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    return Harness(settings, rasa, rasa_server, app, server, clock)
