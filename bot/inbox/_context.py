"""What the inbox's request handlers share: databases, Rasa client, live hub, templates, clock."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from ipaddress import IPv4Network, IPv6Network
from typing import Callable, Optional, Tuple, Union

import aiohttp
import jinja2
from aiohttp import web
from sqlalchemy.orm import Session, sessionmaker

from bot.inbox._auth import LoggedIn
from bot.inbox._hub import Hub
from bot.inbox._rasa import RasaClient
from bot.inbox._store import InboxStore
from bot.inbox._throttle import ThrottlePolicy
from bot.service_hours import ServiceHours
from bot.settings import Settings

Clock = Callable[[], datetime]
Network = Union[IPv4Network, IPv6Network]


@dataclass
class Inbox:
    settings: Settings
    hub: Hub
    templates: jinja2.Environment
    clock: Clock
    hours: ServiceHours
    secret: str
    cookie_secure: bool
    throttle: ThrottlePolicy = ThrottlePolicy()
    trusted_proxies: Tuple[Network, ...] = ()
    store: Optional[InboxStore] = None
    rasa: Optional[RasaClient] = None
    shop: "Optional[sessionmaker[Session]]" = None
    http: Optional[aiohttp.ClientSession] = None  # outgoing calls (messenger media)

    def db(self) -> InboxStore:
        if self.store is None:
            raise RuntimeError("the inbox database is not open (app not started)")
        return self.store

    def rasa_client(self) -> RasaClient:
        if self.rasa is None:
            raise RuntimeError("the Rasa client is not ready (app not started)")
        return self.rasa


INBOX_KEY = web.AppKey("inbox", Inbox)
AGENT_REQUEST_KEY = "inbox.agent"


def inbox_of(request: web.Request) -> Inbox:
    return request.app[INBOX_KEY]


def agent_of(request: web.Request) -> LoggedIn:
    logged: LoggedIn = request[AGENT_REQUEST_KEY]
    return logged
