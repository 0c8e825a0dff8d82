"""aiohttp application factory for the inbox and the web chat."""

from __future__ import annotations

from pathlib import Path
from typing import AsyncIterator

import aiohttp
from aiohttp import web

from bot.inbox import _webchat
from bot.inbox._rasa import RasaClient
from bot.settings import Settings

STATIC_DIR = Path(__file__).with_name("static")
SETTINGS_KEY = web.AppKey("settings", Settings)
RASA_KEY = web.AppKey("rasa", RasaClient)


def create_app(settings: Settings) -> web.Application:
    app = web.Application(client_max_size=256 * 1024)
    app[SETTINGS_KEY] = settings

    async def rasa_client(app: web.Application) -> AsyncIterator[None]:
        async with aiohttp.ClientSession() as session:
            app[RASA_KEY] = RasaClient(settings.rasa_url, settings.rasa_token, session)
            yield

    app.cleanup_ctx.append(rasa_client)
    app.router.add_get("/", _webchat.index)
    _webchat.add_routes(app, RASA_KEY)
    app.router.add_static("/static/", STATIC_DIR)
    return app
