"""The admin-only data-protection page in the inbox: look up a customer, download the export,
delete with confirmation. Mounted by ``add_privacy_routes(app)`` on the inbox app: its ``guard``
middleware requires a login for every ``/inbox/...`` path and the CSRF token on POSTs; these
handlers additionally require the admin flag. Database work runs in a worker thread."""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Dict

from aiohttp import web

from bot.inbox._context import agent_of, inbox_of
from bot.inbox._render import render
from bot.privacy._cli import export_json
from bot.privacy._logs import pseudo, pseudonym
from bot.privacy._report import STORE_NAMES, render_text
from bot.privacy._stores import (
    CustomerData,
    PrivacyError,
    Stores,
    collect,
    delete_senders,
)

logger = logging.getLogger(__name__)


def _admin(request: web.Request) -> Any:
    agent = agent_of(request)
    if not agent.is_admin:
        raise web.HTTPForbidden(text="Nur Admins dürfen Kundendaten exportieren oder löschen.")
    return agent


def _page(request: web.Request, status: int = 200, **context: Any) -> web.Response:
    inbox = inbox_of(request)
    values: Dict[str, Any] = {
        "me": agent_of(request),
        "page": "privacy",
        "error": "",
        "query": "",
        "data": None,
        "deleted": None,
        "deleted_ids": [],
        "deleted_total": 0,
        "store_names": STORE_NAMES,
        "retention_days": inbox.settings.retention_days,
    }
    values.update(context)
    return web.Response(
        text=render(inbox.templates, "privacy.html", **values),
        status=status,
        content_type="text/html",
        charset="utf-8",
    )


async def _query(request: web.Request) -> str:
    form = await request.post()
    value = form.get("q")
    return value.strip() if isinstance(value, str) else ""


async def _collect(request: web.Request, query: str) -> CustomerData:
    stores = Stores.from_settings(inbox_of(request).settings)
    return await asyncio.to_thread(collect, stores, query)


async def privacy_page(request: web.Request) -> web.StreamResponse:
    _admin(request)
    return _page(request)


async def privacy_lookup(request: web.Request) -> web.StreamResponse:
    _admin(request)
    query = await _query(request)
    try:
        data = await _collect(request, query)
    except PrivacyError as error:
        return _page(request, 400, error=str(error), query=query)
    return _page(request, query=query, data=data)


async def privacy_export(request: web.Request) -> web.StreamResponse:
    agent = _admin(request)
    query = await _query(request)
    form = await request.post()
    try:
        data = await _collect(request, query)
    except PrivacyError as error:
        return _page(request, 400, error=str(error), query=query)
    if not data.found:
        return _page(request, 404, error="Zu dieser Kennung ist nichts gespeichert.", query=query)
    logger.info("privacy: %s exported the data of %s", agent.name, pseudo(data.matched_ids[0]))
    name = f"datenauskunft-{pseudonym(data.matched_ids[0])}-{data.generated_at:%Y%m%d}"
    if form.get("format") == "text":
        body = render_text(data, inbox_of(request).settings.retention_days)
        content_type, name = "text/plain", name + ".txt"
    else:
        body, content_type, name = export_json(data), "application/json", name + ".json"
    return web.Response(
        text=body,
        content_type=content_type,
        charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


async def privacy_delete(request: web.Request) -> web.StreamResponse:
    agent = _admin(request)
    inbox = inbox_of(request)
    query = await _query(request)
    form = await request.post()
    try:
        data = await _collect(request, query)
    except PrivacyError as error:
        return _page(request, 400, error=str(error), query=query)
    if form.get("confirm") != "yes":
        return _page(
            request,
            400,
            error="Bitte bestätige die Löschung mit dem Häkchen.",
            query=query,
            data=data,
        )
    ids = data.matched_ids
    if not ids:
        return _page(
            request, 404, error="Zu dieser Kennung ist nichts (mehr) gespeichert.", query=query
        )
    counts = await asyncio.to_thread(delete_senders, Stores.from_settings(inbox.settings), ids)
    logger.info(
        "privacy: %s deleted the data of %s (%d entries)",
        agent.name,
        pseudo(ids[0]),
        sum(counts.values()),
    )
    inbox.hub.publish("queue", {})
    return _page(request, deleted=counts, deleted_ids=ids, deleted_total=sum(counts.values()))


def add_privacy_routes(app: web.Application) -> None:
    app.router.add_get("/inbox/privacy", privacy_page)
    app.router.add_post("/inbox/privacy", privacy_lookup)
    app.router.add_post("/inbox/privacy/export", privacy_export)
    app.router.add_post("/inbox/privacy/delete", privacy_delete)


__all__ = ["add_privacy_routes"]
