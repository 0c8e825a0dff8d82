"""The trainer page in the inbox: the review queue with one-click labelling, live editing of
FAQ answers (checked, recorded, undoable; see :mod:`bot.answers`), and the latest evaluation
report. Mount with ``add_trainer_routes(app, settings)`` on the inbox app: its
``guard`` middleware requires a logged-in agent for every ``/inbox/...`` path and checks the
CSRF token on POSTs; these handlers refuse to run without that login as well."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, Dict, List, Optional

import jinja2
from aiohttp import web
from yarl import URL

from bot.answers import AnswerStore, answer_table, edit_answer, undo_answer
from bot.errors import BotError
from bot.settings import Settings
from bot.trainer._project import ID_PATTERN, Project, load_training_data
from bot.trainer._review import REASON_LABELS, ReviewQueue

TEMPLATES = Path(__file__).with_name("templates")
SETTINGS_KEY = web.AppKey("trainer_settings", Settings)
_AGENT_KEY = "inbox.agent"  # bot.inbox._context.AGENT_REQUEST_KEY, set by the inbox's guard
MAX_GROUPS = 50
_REPORT_FILES = {"confidence.png", "sweep.png", "summary.md"}


def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)), autoescape=True,
        undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
    )


def _agent(request: web.Request) -> Any:
    agent = request.get(_AGENT_KEY)
    if agent is None:
        raise web.HTTPUnauthorized(text="Bitte melde dich an.")
    return agent


def _queue(settings: Settings) -> ReviewQueue:
    return ReviewQueue(Project(settings.root), settings.tracker_db_url, settings.support_db_url)


def _page_data(settings: Settings) -> Dict[str, Any]:
    queue = _queue(settings)
    try:
        groups = queue.groups()[:MAX_GROUPS]
    finally:
        queue.close()
    data = load_training_data(Project(settings.root))
    labels = sorted(set(data.labels()))
    shown = []
    for group in groups:
        guess, confidence = group.guess
        shown.append({
            "id": group.id,
            "text": group.text,
            "count": group.count,
            "reasons": [REASON_LABELS[r] for r in group.reasons],
            "guess": guess,
            "confidence": f"{confidence:.0%}",
            "others": list(dict.fromkeys(m.text for m in group.messages)),
            "context": group.messages[0].context[-4:],
            "replies": group.agent_replies[:3],
        })
    return {"groups": shown, "labels": labels, "answers": _answer_rows(settings)}


def _answer_rows(settings: Settings) -> List[Dict[str, Any]]:
    store = AnswerStore.open(settings.support_db_url)
    try:
        rows = answer_table(settings.root, store)
    finally:
        store.close()
    return [
        {
            "topic": row.topic,
            "text": row.text,
            "edited": row.live is not None,
            "source": (f"live geändert von {row.live.author} am {_when(row.live.created_at)}"
                       if row.live else "aus domain.yml"),
            "history": [
                {
                    "when": _when(version.created_at),
                    "author": version.author,
                    "text": version.text,
                    "state": _state(version, row.live),
                }
                for version in row.history
            ],
        }
        for row in rows
    ]


def _state(version: Any, live: Any) -> str:
    if live is not None and version.id == live.id:
        return "gilt jetzt"
    if version.undone_at is not None:
        return f"rückgängig gemacht von {version.undone_by} am {_when(version.undone_at)}"
    return "ersetzt"


def _when(moment: Any) -> str:
    return f"{moment:%d.%m.%Y %H:%M} UTC"


async def trainer_page(request: web.Request) -> web.Response:
    agent = _agent(request)
    settings = request.app[SETTINGS_KEY]
    data = await asyncio.to_thread(_page_data, settings)
    html = _environment().get_template("trainer.html").render(
        csrf=agent.csrf_token, notice=request.query.get("ok", ""),
        error=request.query.get("error", ""), **data,
    )
    return web.Response(text=html, content_type="text/html", charset="utf-8")


def _apply(settings: Settings, form: Dict[str, str], by: str) -> str:
    group, decision = form.get("group", ""), form.get("decision", "")
    queue = _queue(settings)
    try:
        if decision == "ignore":
            queue.ignore(group, by=by)
            return "Verworfen."
        if decision == "out_of_scope":
            queue.label(group, "out_of_scope", by=by)
            return "Als „nicht unser Thema“ gespeichert."
        if decision == "label":
            label = form.get("label", "")
            result = queue.label(group, label, by=by)
            return f"{len(result.added_examples)} Beispiel(e) zu {label} hinzugefügt."
        if decision == "new_faq":
            topic = form.get("topic", "").strip()
            queue.new_faq(group, topic, form.get("answer", ""), by=by,
                          question=form.get("question", "").strip() or None)
            return f"Neues FAQ-Thema faq/{topic} angelegt."
        raise BotError("unknown decision")
    finally:
        queue.close()


async def label(request: web.Request) -> web.StreamResponse:
    agent = _agent(request)
    settings = request.app[SETTINGS_KEY]
    posted = await request.post()
    form = {key: str(value) for key, value in posted.items() if isinstance(value, str)}
    try:
        notice: Optional[str] = await asyncio.to_thread(_apply, settings, form, agent.name)
        target = URL("/inbox/trainer").with_query(ok=notice or "")
    except BotError as error:
        # Trainer-facing: say it in German, keep the detail (it names the conflicting example).
        target = URL("/inbox/trainer").with_query(error=f"Nicht gespeichert: {error}")
    raise web.HTTPSeeOther(str(target))


def _change_answer(settings: Settings, form: Dict[str, str], by: str) -> str:
    topic = form.get("topic", "")
    store = AnswerStore.open(settings.support_db_url)
    try:
        if form.get("decision") == "undo":
            restored = undo_answer(settings.root, store, topic, by)
            source = (f"die Fassung von {restored.author}" if restored
                      else "die Antwort aus domain.yml")
            return f"Rückgängig gemacht: für {topic} gilt wieder {source}."
        edit_answer(settings.root, store, topic, form.get("answer", ""), by)
        return (f"Gespeichert: die neue Antwort für {topic} ist in wenigen Sekunden live "
                f"(kein Training nötig).")
    finally:
        store.close()


async def answer(request: web.Request) -> web.StreamResponse:
    """Edit or undo a FAQ answer (checked first; a refusal says why in German)."""
    agent = _agent(request)
    settings = request.app[SETTINGS_KEY]
    posted = await request.post()
    form = {key: str(value) for key, value in posted.items() if isinstance(value, str)}
    topic = form.get("topic", "")
    try:
        notice = await asyncio.to_thread(_change_answer, settings, form, agent.name)
        target = URL("/inbox/trainer").with_query(ok=notice)
    except BotError as error:
        target = URL("/inbox/trainer").with_query(error=str(error))
    if ID_PATTERN.match(topic):
        target = target.with_fragment(f"a-{topic}")
    raise web.HTTPSeeOther(str(target))


async def report(request: web.Request) -> web.StreamResponse:
    _agent(request)
    folder = request.app[SETTINGS_KEY].var_dir / "trainer" / "report"
    name = request.match_info.get("name") or "index.html"
    if name != "index.html" and name not in _REPORT_FILES:
        raise web.HTTPNotFound()
    path = folder / name
    if not path.is_file():
        return web.Response(
            text="Noch kein Bericht: erst `python -m bot evaluate` oder `python -m bot ship`.",
            status=404, content_type="text/plain", charset="utf-8")
    return web.FileResponse(path)


async def _to_report(request: web.Request) -> web.StreamResponse:
    raise web.HTTPFound("/inbox/trainer/report/")


def add_trainer_routes(app: web.Application, settings: Settings) -> List[web.AbstractRoute]:
    """Add the trainer page (``/inbox/trainer``) and the report to the inbox app."""
    app[SETTINGS_KEY] = settings
    return [
        app.router.add_get("/inbox/trainer", trainer_page),
        app.router.add_post("/inbox/trainer/label", label),
        app.router.add_post("/inbox/trainer/answer", answer),
        app.router.add_get("/inbox/trainer/report", _to_report),
        app.router.add_get("/inbox/trainer/report/", report),
        app.router.add_get("/inbox/trainer/report/{name}", report),
    ]
