"""The "Trends" page of the inbox (trainers and admins): the weekly report's sections for the
last 7/14/30 days. Behind the inbox's login and security middleware; the report is built and
its plots drawn in a worker thread."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from aiohttp import web

from bot.inbox._context import agent_of, inbox_of
from bot.inbox._render import render
from bot.insights._render import render_body
from bot.insights._report import build_report
from bot.insights._signals import hour_of

PERIODS = {"7": 7, "14": 14, "30": 30}
FORBIDDEN = ("Die Trends sind nur für Trainer und Admins freigeschaltet. Frag eine Admin, "
             "wenn du sie brauchst.")


async def trends_page(request: web.Request) -> web.StreamResponse:
    me = agent_of(request)
    if not me.is_trainer:
        return web.Response(text=FORBIDDEN, status=403, content_type="text/plain",
                            charset="utf-8")
    inbox = inbox_of(request)
    period = request.query.get("tage", "7")
    days = PERIODS.get(period, 7)
    end = hour_of(inbox.clock()) + timedelta(hours=1)
    zone = inbox.settings.timezone
    report = await inbox.db().run(
        lambda session: build_report(session, end - timedelta(days=days), end, zone))
    body = await asyncio.to_thread(render_body, report)
    html = render(inbox.templates, "trends.html", me=me, page="trends", body=body,
                  periods=list(PERIODS), period=str(days))
    return web.Response(text=html, content_type="text/html", charset="utf-8")


def add_trends_routes(app: web.Application) -> None:
    app.router.add_get("/inbox/trends", trends_page)


__all__ = ["add_trends_routes", "trends_page"]
