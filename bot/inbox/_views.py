"""The inbox's pages, its JSON/HTML-fragment API and the live event stream."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, time, timedelta, timezone
from typing import Any, Awaitable, Callable, Dict, List, Optional

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.inbox import _service as service
from bot.inbox._auth import SESSION_COOKIE, lookup_session
from bot.inbox._botstats import PERIODS, bot_figures
from bot.inbox._broker import Outcome
from bot.inbox._charts import simple, stacked
from bot.inbox._contact import best_order, contact_of, order_lookups
from bot.inbox._context import Inbox, agent_of, inbox_of
from bot.inbox._models import CustomerMessage
from bot.inbox._rasa import RasaRequestError, RasaUnavailableError
from bot.inbox._render import CHANNEL_LABELS, render
from bot.inbox._stats import channel_group, overview
from bot.inbox._transcript import (
    INBOX_META,
    RASA_DOWN,
    REASON_LABELS,
    REPLY_REFUSED,
    Item,
    build_transcript,
    delivery_error_text,
)
from bot.models import Handoff, HandoffStatus
from bot.privacy import pseudo
from bot.trainer._project import Project
from bot.trainer._web import label_titles

logger = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 15.0
CSAT_QUESTION = (
    "Ich bin wieder für dich da! Wie zufrieden warst du mit der Hilfe unseres Teams? "
    "Gib uns bitte eine Note von 1 (gar nicht zufrieden) bis 5 (sehr zufrieden)."
)
CSAT_BUTTONS = [
    {"title": f"{value} {'★' * value}", "payload": f'/rate{{"rating": {value}}}'}
    for value in range(1, 6)
]
SNOOZE_OPTIONS = {
    "30m": ("30 Minuten", timedelta(minutes=30)),
    "1h": ("1 Stunde", timedelta(hours=1)),
    "4h": ("4 Stunden", timedelta(hours=4)),
    "next": ("bis zur nächsten Schicht", None),
}


def html(text: str, status: int = 200) -> web.Response:
    return web.Response(text=text, status=status, content_type="text/html", charset="utf-8")


def _handoff_id(request: web.Request) -> int:
    try:
        return int(request.match_info["handoff_id"])
    except (KeyError, ValueError):
        raise web.HTTPNotFound() from None


async def _json_body(request: web.Request) -> Dict[str, Any]:
    try:
        body = await request.json()
    except (ValueError, RecursionError):  # RecursionError: absurdly deep JSON
        body = None
    if not isinstance(body, dict):
        raise service.InvalidInputError("Ungültige Anfrage.")
    return body


# --- pages -------------------------------------------------------------------------------

async def home(request: web.Request) -> web.StreamResponse:
    raise web.HTTPFound("/inbox")


async def inbox_page(request: web.Request) -> web.StreamResponse:
    inbox = inbox_of(request)
    selected = request.match_info.get("handoff_id")
    return html(
        render(
            inbox.templates,
            "inbox.html",
            me=agent_of(request),
            page="inbox",
            selected=int(selected) if selected and selected.isdigit() else None,
            channels=CHANNEL_LABELS,
            reasons=REASON_LABELS,
        )
    )


# --- queue -------------------------------------------------------------------------------

async def queue_fragment(request: web.Request) -> web.StreamResponse:
    inbox = inbox_of(request)
    logged = agent_of(request)
    who = request.query.get("who", "all")
    status = request.query.get("status", "active")
    if who not in service.QUEUE_FILTERS:
        who = "all"
    if status not in service.STATUS_FILTERS:
        status = "active"
    agent = logged.as_agent()
    channel = request.query.get("channel", "")
    reason = request.query.get("reason", "")
    if reason not in REASON_LABELS:
        reason = ""

    def load(session: Session) -> Dict[str, Any]:
        entries = service.list_queue(session, agent, who, status, channel=channel,
                                     reason=reason)
        counts = {
            key: len(service.list_queue(session, agent, key, "active", limit=1000))
            for key in service.QUEUE_FILTERS
        }
        waiting = service.list_queue(session, agent, "unassigned", HandoffStatus.OPEN,
                                     limit=1000)
        return {"entries": entries, "counts": counts, "waiting": len(waiting),
                "newest": max((e.handoff.id for e in waiting), default=0)}

    data = await inbox.db().run(load)
    selected = request.query.get("selected", "")
    fragment = render(
        inbox.templates,
        "_queue.html",
        entries=data["entries"],
        selected=int(selected) if selected.isdigit() else None,
        me=logged,
        status=status,
    )
    return web.json_response({"html": fragment, "counts": data["counts"],
                              "waiting": data["waiting"], "newest": data["newest"]})


# --- conversation ------------------------------------------------------------------------

def _order_info(inbox: Inbox, number: Optional[str]) -> Optional[Dict[str, Any]]:
    if not number or inbox.shop is None:
        return None
    from bot.shop import Order

    with inbox.shop() as session:
        order = session.execute(select(Order).where(Order.number == number)).scalars().first()
        if order is None:
            return {"number": number, "found": False}
        shipment = order.shipment
        return {
            "number": order.number,
            "found": True,
            "status": order.status,
            "placed_at": order.placed_at,
            "city": order.city,
            "postal_code": order.postal_code,
            "customer": order.customer.name if order.customer else "",
            "tracking_url": shipment.tracking_url if shipment else None,
        }


async def render_conversation(inbox: Inbox, handoff_id: int, logged_agent: Any) -> Dict[str, Any]:
    agent = logged_agent.as_agent()

    def load(session: Session) -> Any:
        service.mark_read(session, handoff_id, agent)
        records = service.conversation_records(session, handoff_id)
        agents = service.active_agents(session)
        waiting = session.execute(
            select(CustomerMessage).where(CustomerMessage.handoff_id == handoff_id)
            .order_by(CustomerMessage.id)
        ).scalars().all()
        return records, agents, waiting

    records, agents, waiting = await inbox.db().run(load)
    handoff = records.handoff
    tracker_error = ""
    slots: Dict[str, Any] = {}
    try:
        tracker = await inbox.rasa_client().tracker(handoff.sender_id)
        events: List[Dict[str, Any]] = list(tracker.get("events") or [])
        slots = tracker.get("slots") or {}
    except (RasaUnavailableError, RasaRequestError) as error:
        logger.warning("tracker of %s unavailable: %s", pseudo(handoff.sender_id), error)
        tracker_error = (
            "Der Verlauf von Paula ist gerade nicht abrufbar (Rasa antwortet nicht). "
            "Angezeigt sind die Nachrichten, die während der Übergabe ankamen."
        )
        events = [
            {"event": "user", "text": message.text,
             "timestamp": message.received_at.replace(tzinfo=timezone.utc).timestamp()}
            for message in waiting
        ]
    items = build_transcript(events, records)
    lookups = order_lookups(events)
    order_number = best_order(lookups, handoff.order_number, slots.get("order_number"))
    order = await asyncio.to_thread(_order_info, inbox, order_number)
    if order is not None:
        order["confirmed"] = any(o.confirmed and o.number == order_number for o in lookups)
    contact = contact_of(events, channel_group(handoff.channel), handoff.sender_id)
    ratings = [e.rating for e in records.earlier if e.rating]
    can_handle = handoff.status != HandoffStatus.RESOLVED and (
        handoff.assigned_to == agent.id or agent.is_admin
    )
    fragment = render(
        inbox.templates,
        "_conversation.html",
        h=handoff,
        state=records.state,
        items=items,
        me=logged_agent,
        assignee=records.names.get(handoff.assigned_to or 0),
        can_claim=handoff.status in (HandoffStatus.OPEN, HandoffStatus.SNOOZED)
        and handoff.assigned_to is None,
        can_handle=can_handle,
        agents=[a for a in agents if a.id != handoff.assigned_to],
        order=order,
        other_orders=[o for o in lookups if o.number != order_number],
        contact=contact,
        first_handoff=min([e.created_at for e in records.earlier] + [handoff.created_at]),
        average_rating=(sum(ratings) / len(ratings)) if ratings else None,
        tracker_error=tracker_error,
        earlier=records.earlier,
        snooze_options=[(key, label) for key, (label, _) in SNOOZE_OPTIONS.items()],
        reason_labels=REASON_LABELS,
    )
    return {
        "html": fragment,
        "handoff_id": handoff.id,
        "sender_id": handoff.sender_id,
        "status": handoff.status,
    }


async def conversation_fragment(request: web.Request) -> web.StreamResponse:
    inbox = inbox_of(request)
    try:
        data = await render_conversation(inbox, _handoff_id(request), agent_of(request))
    except service.InboxError as error:
        return web.json_response({"error": error.message}, status=error.status)
    return web.json_response(data)


Work = Callable[[], Awaitable[Optional[str]]]


async def _act(request: web.Request, work: Work) -> web.StreamResponse:
    """Run an action; answer ``{"ok": true}`` or ``{"error": German text}``; tell everyone."""
    inbox = inbox_of(request)
    handoff_id = _handoff_id(request)
    try:
        warning = await work()
    except service.InboxError as error:
        return web.json_response({"error": error.message}, status=error.status)
    finally:
        inbox.hub.publish("conversation", {"handoff_id": handoff_id})
        inbox.hub.publish("queue", {})
    if warning:
        return web.json_response({"error": warning}, status=502)
    return web.json_response({"ok": True})


async def claim(request: web.Request) -> web.StreamResponse:
    inbox, agent = inbox_of(request), agent_of(request).as_agent()
    handoff_id = _handoff_id(request)

    async def work() -> Optional[str]:
        now = inbox.clock()
        await inbox.db().run(lambda session: service.claim(session, handoff_id, agent, now))
        return None

    return await _act(request, work)


async def reply(request: web.Request) -> web.StreamResponse:
    inbox, logged = inbox_of(request), agent_of(request)
    agent = logged.as_agent()
    handoff_id = _handoff_id(request)

    async def work() -> Optional[str]:
        body = await _json_body(request)
        now = inbox.clock()
        record = await inbox.db().run(
            lambda session: service.start_reply(session, handoff_id, agent,
                                                str(body.get("text") or ""), now)
        )
        sender = await inbox.db().run(
            lambda session: service.get_handoff(session, handoff_id).sender_id
        )
        error: Optional[str] = None
        mark = await inbox.db().run(lambda session: service.last_delivery_id(session, sender))
        try:
            await inbox.rasa_client().append_events(
                sender,
                [{"event": "bot", "text": record.text,
                  "metadata": {INBOX_META: {"kind": "reply", "agent": logged.name,
                                            "agent_id": logged.agent_id,
                                            "reply_id": record.id}}}],
            )
        except RasaRequestError:
            # The channel recorded why (a DeliveryReason code); Rasa's error text is not read.
            error = await inbox.db().run(
                lambda session: service.delivery_failure_after(session, sender, mark)
            ) or REPLY_REFUSED
        except RasaUnavailableError:
            error = RASA_DOWN
        done = inbox.clock()
        saved = await inbox.db().run(
            lambda session: service.finish_reply(session, record.id, done, error)
        )
        if error is not None:
            return delivery_error_text(saved.error or "")
        return None

    return await _act(request, work)


async def add_note(request: web.Request) -> web.StreamResponse:
    inbox, agent = inbox_of(request), agent_of(request).as_agent()
    handoff_id = _handoff_id(request)

    async def work() -> Optional[str]:
        body = await _json_body(request)
        now = inbox.clock()
        await inbox.db().run(
            lambda session: service.add_note(session, handoff_id, agent,
                                             str(body.get("text") or ""), now)
        )
        return None

    return await _act(request, work)


def _reason(body: Dict[str, Any]) -> str:
    """The optional reason of a transfer or snooze: text only, one line, at most 200 chars."""
    raw = body.get("reason")
    if raw is None:
        return ""
    if not isinstance(raw, str):
        raise service.InvalidInputError("Ungültiger Grund.")
    cleaned = " ".join("".join(c if c.isprintable() else " " for c in raw).split())
    if len(cleaned) > service.MAX_REASON:
        raise service.InvalidInputError(
            f"Der Grund ist zu lang (höchstens {service.MAX_REASON} Zeichen).")
    return cleaned


async def transfer(request: web.Request) -> web.StreamResponse:
    inbox, agent = inbox_of(request), agent_of(request).as_agent()
    handoff_id = _handoff_id(request)

    async def work() -> Optional[str]:
        body = await _json_body(request)
        raw = body.get("agent_id")
        target: Optional[int]
        if raw in (None, "", "queue"):
            target = None
        else:
            try:
                target = int(str(raw))
            except (TypeError, ValueError):
                raise service.InvalidInputError("Ungültige Auswahl.") from None
        now = inbox.clock()
        why = _reason(body)
        await inbox.db().run(
            lambda session: service.transfer(session, handoff_id, agent, target, now, why)
        )
        return None

    return await _act(request, work)


def snooze_until(inbox: Inbox, option: str, now: datetime) -> tuple[datetime, str]:
    if option not in SNOOZE_OPTIONS:
        raise service.InvalidInputError("Ungültige Auswahl.")
    label, delta = SNOOZE_OPTIONS[option]
    if delta is not None:
        return now + delta, label
    local = now.replace(tzinfo=timezone.utc).astimezone(inbox.hours.zone)
    tomorrow = datetime.combine(local.date() + timedelta(days=1), time(0), tzinfo=inbox.hours.zone)
    opening = inbox.hours.next_opening(tomorrow)
    until = opening.astimezone(timezone.utc).replace(tzinfo=None)
    return until, f"bis {opening:%d.%m. %H:%M} Uhr"


async def snooze(request: web.Request) -> web.StreamResponse:
    inbox, agent = inbox_of(request), agent_of(request).as_agent()
    handoff_id = _handoff_id(request)

    async def work() -> Optional[str]:
        body = await _json_body(request)
        now = inbox.clock()
        until, label = snooze_until(inbox, str(body.get("option") or ""), now)
        why = _reason(body)
        await inbox.db().run(
            lambda session: service.snooze(session, handoff_id, agent, until, now, label, why)
        )
        return None

    return await _act(request, work)


async def reopen(request: web.Request) -> web.StreamResponse:
    inbox, agent = inbox_of(request), agent_of(request).as_agent()
    handoff_id = _handoff_id(request)

    async def work() -> Optional[str]:
        now = inbox.clock()

        def do(session: Session) -> None:
            handoff = service.check_can_resolve(session, handoff_id, agent)
            service.wake(session, handoff, now, agent, "agent")

        await inbox.db().run(do)
        return None

    return await _act(request, work)


async def resolve(request: web.Request) -> web.StreamResponse:
    inbox, logged = inbox_of(request), agent_of(request)
    agent = logged.as_agent()
    handoff_id = _handoff_id(request)

    async def work() -> Optional[str]:
        handoff = await inbox.db().run(
            lambda session: service.check_can_resolve(session, handoff_id, agent)
        )
        try:
            await inbox.rasa_client().append_events(
                handoff.sender_id,
                [
                    {"event": "resume"},
                    {"event": "bot", "text": CSAT_QUESTION, "data": {"buttons": CSAT_BUTTONS},
                     "metadata": {INBOX_META: {"kind": "csat", "handoff_id": handoff_id}}},
                    # While paused, Rasa logged the customer's messages without bot turns; end
                    # this turn like the bot does, so rules match the customer's next message.
                    {"event": "action", "name": "action_listen"},
                ],
            )
        except RasaRequestError as failure:
            raise service.InboxError(
                f"Paula konnte das Gespräch nicht übernehmen: {failure.message[:200]}"
            ) from None
        except RasaUnavailableError:
            raise service.InboxError(
                "Rasa ist nicht erreichbar; das Gespräch bleibt bei dir."
            ) from None
        now = inbox.clock()
        await inbox.db().run(
            lambda session: service.mark_resolved(session, handoff_id, agent, now, True)
        )
        return None

    return await _act(request, work)


# --- canned responses --------------------------------------------------------------------

async def canned_json(request: web.Request) -> web.StreamResponse:
    inbox = inbox_of(request)
    items = await inbox.db().run(service.list_canned)
    return web.json_response(
        {"items": [{"id": c.id, "shortcut": c.shortcut, "text": c.text} for c in items]}
    )


async def canned_page(request: web.Request, error: str = "", status: int = 200) -> web.Response:
    inbox = inbox_of(request)
    items = await inbox.db().run(service.list_canned)
    return html(
        render(inbox.templates, "canned.html", me=agent_of(request), items=items, error=error,
               page="canned"),
        status=status,
    )


async def canned_save(request: web.Request) -> web.StreamResponse:
    inbox, agent = inbox_of(request), agent_of(request).as_agent()
    form = await request.post()
    raw_id = str(form.get("id") or "")
    now = inbox.clock()
    try:
        await inbox.db().run(
            lambda session: service.save_canned(
                session, agent, str(form.get("shortcut") or ""), str(form.get("text") or ""), now,
                int(raw_id) if raw_id.isdigit() else None,
            )
        )
    except service.InboxError as error:
        return await canned_page(request, error.message, error.status)
    inbox.hub.publish("canned", {})
    raise web.HTTPFound("/inbox/canned")


async def canned_delete(request: web.Request) -> web.StreamResponse:
    inbox, agent = inbox_of(request), agent_of(request).as_agent()
    try:
        canned_id = int(request.match_info["canned_id"])
        await inbox.db().run(lambda session: service.delete_canned(session, agent, canned_id))
    except (ValueError, KeyError):
        raise web.HTTPNotFound() from None
    except service.InboxError as error:
        return await canned_page(request, error.message, error.status)
    inbox.hub.publish("canned", {})
    raise web.HTTPFound("/inbox/canned")


# --- dashboard ---------------------------------------------------------------------------

async def dashboard(request: web.Request) -> web.StreamResponse:
    inbox = inbox_of(request)
    now = inbox.clock()
    period = request.query.get("days", "14")
    if period not in PERIODS:
        period = "14"
    span = PERIODS[period]
    data = await inbox.db().run(
        lambda session: overview(session, now, inbox.settings.timezone, days=span)
    )
    settings = inbox.settings
    naive_now = now.replace(tzinfo=None) if now.tzinfo else now
    bot = await asyncio.to_thread(
        bot_figures, settings.tracker_db_url, settings.support_db_url,
        naive_now - timedelta(days=span), naive_now + timedelta(seconds=1))
    titles = await asyncio.to_thread(label_titles, Project(settings.root))
    days = [f"{d.day:%d.%m.}" for d in data.days]
    charts = {
        "reasons": stacked(
            days,
            [(REASON_LABELS.get(r, r), [float(d.by_reason.get(r, 0)) for d in data.days])
             for r in data.reasons] or [("Übergaben", [0.0] * len(days))],
        ),
        "channels": stacked(
            days,
            [(CHANNEL_LABELS.get(c, c), [float(d.by_channel.get(c, 0)) for d in data.days])
             for c in data.channels] or [("Übergaben", [0.0] * len(days))],
        ),
        "first_reply": simple(days, [d.first_reply_minutes for d in data.days],
                              "Erste Antwort", " Min."),
        "handling": simple(days, [d.handling_minutes for d in data.days],
                           "Bearbeitungszeit", " Min."),
        "csat": simple(days, [d.csat for d in data.days], "Zufriedenheit"),
        "queue": simple(days, [float(d.open_queue) for d in data.days], "Offene Übergaben"),
    }
    return html(
        render(inbox.templates, "dashboard.html", me=agent_of(request), data=data, charts=charts,
               page="dashboard", reason_labels=REASON_LABELS, channel_labels=CHANNEL_LABELS,
               bot=bot, titles=titles, period=period, periods=list(PERIODS))
    )


# --- live updates ------------------------------------------------------------------------

async def events(request: web.Request) -> web.StreamResponse:
    """Server-Sent Events for the logged-in agent: queue, conversation and message updates."""
    inbox, logged = inbox_of(request), agent_of(request)
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/event-stream; charset=utf-8",
            "Cache-Control": "no-store",
            "X-Accel-Buffering": "no",
        }
    )
    await response.prepare(request)
    subscription = inbox.hub.subscribe(session_id=logged.session_id)
    token = request.cookies.get(SESSION_COOKIE, "")
    try:
        await response.write(b"retry: 2000\nevent: hello\ndata: {}\n\n")
        while True:
            try:
                update = await asyncio.wait_for(subscription.queue.get(), HEARTBEAT_SECONDS)
            except asyncio.TimeoutError:
                moment = inbox.clock()
                still = await inbox.db().run(
                    lambda session, at=moment: lookup_session(session, token, at)  # type: ignore[misc]
                )
                if still is None:
                    break
                await response.write(b": ping\n\n")
                continue
            await response.write(update.encode())
            if update.event in ("logout", "bye"):
                break
            if subscription.overflowed:
                subscription.overflowed = False
                await response.write(b"event: reload\ndata: {}\n\n")
    except (ConnectionResetError, asyncio.CancelledError):
        pass
    finally:
        subscription.close()
    return response


async def publish_outcome(inbox: Inbox, outcome: Outcome) -> None:
    """Push what the event-broker consumer learned to the browsers."""
    hub = inbox.hub
    for message in outcome.messages:
        fragment = render(inbox.templates, "_item.html", item=message.item)
        hub.publish(
            "message",
            {"handoff_id": message.handoff_id, "sender_id": message.sender_id,
             "key": message.item.key, "html": fragment},
        )
        if message.web_chat is not None and message.sender_id.startswith("web-"):
            hub.publish_topic(message.sender_id, "message", message.web_chat)
    for handoff_id in sorted(outcome.conversations):
        hub.publish("conversation", {"handoff_id": handoff_id})
    if outcome.queue_changed:
        hub.publish("queue", {})


def transcript_item_html(inbox: Inbox, item: Item) -> str:
    return render(inbox.templates, "_item.html", item=item)


def add_routes(app: web.Application) -> None:
    router = app.router
    router.add_get("/", home)
    router.add_get("/inbox", inbox_page)
    router.add_get("/inbox/c/{handoff_id}", inbox_page)
    router.add_get("/inbox/api/queue", queue_fragment)
    router.add_get("/inbox/api/conversations/{handoff_id}", conversation_fragment)
    router.add_post("/inbox/api/conversations/{handoff_id}/claim", claim)
    router.add_post("/inbox/api/conversations/{handoff_id}/reply", reply)
    router.add_post("/inbox/api/conversations/{handoff_id}/notes", add_note)
    router.add_post("/inbox/api/conversations/{handoff_id}/transfer", transfer)
    router.add_post("/inbox/api/conversations/{handoff_id}/snooze", snooze)
    router.add_post("/inbox/api/conversations/{handoff_id}/reopen", reopen)
    router.add_post("/inbox/api/conversations/{handoff_id}/resolve", resolve)
    router.add_get("/inbox/api/canned", canned_json)
    router.add_get("/inbox/canned", canned_page)
    router.add_post("/inbox/canned", canned_save)
    router.add_post("/inbox/canned/{canned_id}/delete", canned_delete)
    router.add_get("/inbox/dashboard", dashboard)
    router.add_get("/inbox/events", events)


__all__ = ["add_routes", "publish_outcome", "Handoff"]
