"""aiohttp application factory for the inbox and the web chat."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import secrets
from datetime import datetime
from pathlib import Path
from typing import AsyncIterator, Callable, Optional

import aiohttp
from aiohttp import web

from bot.database import make_engine, session_factory
from bot.inbox import _accounts, _login, _media, _views, _webchat
from bot.inbox._amqp import run_amqp_consumer
from bot.inbox._broker import SqlBrokerReader, run_consumer
from bot.inbox._context import INBOX_KEY, Inbox
from bot.inbox._hub import Hub
from bot.inbox._rasa import RasaClient
from bot.inbox._redis_hub import RedisHub
from bot.inbox._render import make_environment
from bot.inbox._security import guard, readable_forms
from bot.inbox._store import InboxStore
from bot.inbox._waiting import Housekeeping
from bot.models import utcnow
from bot.privacy._retention import run_retention
from bot.privacy._stores import Stores
from bot.privacy._web import add_privacy_routes
from bot.service_hours import ServiceHours
from bot.settings import Settings
from bot.trainer._web import add_trainer_routes

logger = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).with_name("static")
SETTINGS_KEY = web.AppKey("settings", Settings)
RASA_KEY = web.AppKey("rasa", RasaClient)


def create_app(
    settings: Settings,
    *,
    clock: Optional[Callable[[], datetime]] = None,
    background: bool = True,
    broker_poll_seconds: float = 0.4,
    housekeeping_seconds: float = 15.0,
) -> web.Application:
    """The inbox + web chat app. ``background=False`` leaves out the broker consumer and the
    housekeeping task (tests drive them directly)."""
    app = web.Application(client_max_size=256 * 1024, middlewares=[readable_forms, guard])
    app[SETTINGS_KEY] = settings
    now = clock or utcnow
    secret = settings.inbox_secret_key
    if not secret:
        logger.warning("INBOX_SECRET_KEY is not set; using a random key for this run")
        secret = secrets.token_urlsafe(32)
    if settings.public_base_url.lower().startswith("https://") and not settings.inbox_cookie_secure:
        logger.warning("PUBLIC_BASE_URL is https but INBOX_COOKIE_SECURE is off: inbox cookies "
                       "are sent without the Secure flag (remove the setting to get it)")
    inbox = Inbox(
        settings=settings,
        hub=RedisHub(settings.live_updates_redis_url) if settings.live_updates_redis_url
        else Hub(),
        templates=make_environment(settings.timezone, now),
        clock=now,
        hours=ServiceHours(timezone=settings.timezone, country=settings.holiday_country),
        secret=secret,
        cookie_secure=settings.inbox_cookie_secure,
        trusted_proxies=tuple(
            ipaddress.ip_network(network) for network in settings.inbox_trusted_proxies
        ),
    )
    app[INBOX_KEY] = inbox

    async def resources(app: web.Application) -> AsyncIterator[None]:
        inbox.store = await asyncio.to_thread(InboxStore.open, settings.support_db_url)
        shop_engine = make_engine(settings.shop_db_url)
        inbox.shop = session_factory(shop_engine)
        async with aiohttp.ClientSession() as session, aiohttp.ClientSession() as http:
            client = RasaClient(settings.rasa_url, settings.rasa_token, session)
            app[RASA_KEY] = client
            inbox.rasa = client
            inbox.http = http
            if isinstance(inbox.hub, RedisHub):
                await inbox.hub.start()
            yield
            if isinstance(inbox.hub, RedisHub):
                await inbox.hub.stop()
        inbox.store.close()
        shop_engine.dispose()

    async def workers(app: web.Application) -> AsyncIterator[None]:
        tasks = []
        reader = None
        if background:
            if not settings.event_broker_amqp_url:
                reader = SqlBrokerReader(settings.event_broker_url)

            async def publish(outcome: object) -> None:
                await _views.publish_outcome(inbox, outcome)  # type: ignore[arg-type]

            async def changed(handoff_ids: list[int]) -> None:
                for handoff_id in handoff_ids:
                    inbox.hub.publish("conversation", {"handoff_id": handoff_id})
                inbox.hub.publish("queue", {})

            housekeeping = Housekeeping(
                store=inbox.db(), rasa=inbox.rasa_client, hours=inbox.hours, clock=now,
                wait_minutes=settings.handoff_wait_minutes, on_change=changed,
            )
            if reader is not None:
                consumer = run_consumer(inbox.db(), reader, now, publish, broker_poll_seconds)
            else:  # RabbitMQ (scaled topology): competing consumers on one durable queue
                consumer = run_amqp_consumer(inbox.db(), settings.event_broker_amqp_url,
                                             settings.event_broker_queue, now, publish)
            tasks = [
                asyncio.create_task(consumer),
                asyncio.create_task(housekeeping.run_forever(housekeeping_seconds)),
            ]
            # Signals, early warnings and their delivery (bot/insights), in worker threads.
            from bot.insights._worker import run_insights  # bot.insights imports bot.inbox

            tasks.append(asyncio.create_task(run_insights(settings, now)))
            if settings.retention_days > 0:  # daily purge, in a worker thread
                stores = Stores.from_settings(settings)
                tasks.append(asyncio.create_task(run_retention(stores, settings.retention_days)))
        yield
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if reader is not None:
            reader.close()

    async def end_streams(app: web.Application) -> None:
        inbox.hub.close_all()

    app.cleanup_ctx.append(resources)
    app.cleanup_ctx.append(workers)
    app.on_shutdown.append(end_streams)  # type: ignore[arg-type]
    _views.add_routes(app)
    _accounts.add_routes(app)  # /inbox/agents: admins only
    app.router.add_get("/inbox/api/media", _media.media)
    app.router.add_get("/login", _login.login_form)
    app.router.add_post("/login", _login.login)
    app.router.add_post("/logout", _login.logout)
    app.router.add_get("/inbox/password", _login.password_form)
    app.router.add_post("/inbox/password", _login.change_password)
    _webchat.add_routes(app, RASA_KEY)
    add_trainer_routes(app, settings)  # /inbox/trainer: behind the same login and CSRF checks
    add_privacy_routes(app)  # /inbox/privacy: admins only, same login and CSRF checks
    from bot.insights._web import add_trends_routes  # bot.insights imports bot.inbox

    add_trends_routes(app)  # /inbox/trends: trainers and admins (bot/insights)
    app.router.add_static("/static/", STATIC_DIR)
    return app
