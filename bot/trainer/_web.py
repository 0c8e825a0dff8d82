"""The trainer page in the inbox: the review queue with one-click labelling, live editing of
FAQ answers (checked, recorded, undoable; see :mod:`bot.answers`), and the latest evaluation
report. Mount with ``add_trainer_routes(app, settings)`` on the inbox app: its
``guard`` middleware requires a logged-in agent for every ``/inbox/...`` path and checks the
CSRF token on POSTs; these handlers refuse to run without that login as well."""

from __future__ import annotations

import asyncio
import math
import time
from pathlib import Path
from typing import Any, Dict, List, Optional

import jinja2
import yaml
from aiohttp import web
from yarl import URL

from bot.answers import AnswerStore, answer_table, edit_answer, undo_answer
from bot.answers.feedback import MIN_RATINGS, TopicHelpfulness, read_helpfulness
from bot.errors import BotError
from bot.settings import Settings
from bot.trainer._project import ID_PATTERN, Project, load_training_data
from bot.trainer._review import REASON_LABELS, Group, ReviewQueue
from bot.trainer._snapshot import ReviewSnapshots, without_labelled

TEMPLATES = Path(__file__).with_name("templates")
SETTINGS_KEY = web.AppKey("trainer_settings", Settings)
SNAPSHOTS_KEY = web.AppKey("trainer_snapshots", ReviewSnapshots)
_AGENT_KEY = "inbox.agent"  # bot.inbox._context.AGENT_REQUEST_KEY, set by the inbox's guard
PAGE_SIZE = 20
WAIT_SECONDS = 1.5  # then the page shows the last snapshot (or "wird berechnet") at once
_REPORT_FILES = {"confidence.png", "sweep.png", "summary.md"}


INBOX_TEMPLATES = Path(__file__).parents[1] / "inbox" / "templates"  # base.html: the inbox look
INTENT_TITLES = {
    "order_status": "Bestellstatus", "request_human": "Möchte einen Menschen",
    "complaint": "Beschwerde", "greet": "Begrüßung", "goodbye": "Verabschiedung",
    "thanks": "Dank", "out_of_scope": "Nicht unser Thema", "affirm": "Ja", "deny": "Nein",
}


def label_titles(project: Project) -> Dict[str, str]:
    """Readable names of labels: FAQ topics by their ask-back button title (topics.yml)."""
    titles = dict(INTENT_TITLES)
    try:
        topics = yaml.safe_load(project.topics.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError):
        topics = {}
    for topic, entry in topics.items() if isinstance(topics, dict) else []:
        if isinstance(entry, dict) and isinstance(entry.get("title"), str):
            titles[f"faq/{topic}"] = entry["title"]
    return titles


def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader([str(TEMPLATES), str(INBOX_TEMPLATES)]), autoescape=True,
        undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
    )


def _agent(request: web.Request) -> Any:
    agent = request.get(_AGENT_KEY)
    if agent is None:
        raise web.HTTPUnauthorized(text="Bitte melde dich an.")
    return agent


def _queue(settings: Settings) -> ReviewQueue:
    return ReviewQueue(Project(settings.root), settings.tracker_db_url, settings.support_db_url)


def _page_data(settings: Settings, groups: List[Group], page: int) -> Dict[str, Any]:
    groups = without_labelled(groups, settings.support_db_url)
    pages = max(1, math.ceil(len(groups) / PAGE_SIZE))
    page = min(max(page, 1), pages)
    project = Project(settings.root)
    data = load_training_data(project)
    titles = label_titles(project)
    labels = sorted(({"value": label, "title": titles.get(label, label)}
                     for label in set(data.labels())), key=lambda item: item["title"].lower())
    shown = []
    for group in groups[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]:
        guess, confidence = group.guess
        shown.append({
            "id": group.id,
            "text": group.text,
            "count": group.count,
            "reasons": [REASON_LABELS[r] for r in group.reasons],
            "guess": guess,
            "guess_title": titles.get(guess, guess),
            "confidence": f"{confidence:.0%}",
            "others": list(dict.fromkeys(m.text for m in group.messages)),
            "context": group.messages[0].context[-4:],
            "replies": group.agent_replies[:3],
        })
    ratings = read_helpfulness(settings.support_db_url)
    return {"groups": shown, "labels": labels, "answers": _answer_rows(settings, ratings),
            "ratings": [_rating_row(row) for row in ratings], "min_ratings": MIN_RATINGS,
            "page_no": page, "pages": pages, "total": len(groups)}


def _percent(share: float) -> str:
    return f"{share * 100:.0f} %"


def _rating_row(row: TopicHelpfulness) -> Dict[str, Any]:
    """One line of the "did it help?" table; the share only from MIN_RATINGS ratings on."""
    return {
        "topic": row.topic.removeprefix("faq/"),
        "helpful": row.helpful,
        "unhelpful": row.unhelpful,
        "total": row.total,
        "share": _percent(row.share) if row.enough else "–",
        "upper": _percent(row.upper_bound) if row.enough else "–",
        "enough": row.enough,
    }


def _answer_rows(
    settings: Settings, ratings: Optional[List[TopicHelpfulness]] = None
) -> List[Dict[str, Any]]:
    """Every FAQ answer, the rated ones first, weakest first (as ``ratings``)."""
    store = AnswerStore.open(settings.support_db_url)
    try:
        rows = answer_table(settings.root, store)
    finally:
        store.close()
    order = {row.topic.removeprefix("faq/"): i for i, row in enumerate(ratings or [])}
    by_topic = {row.topic.removeprefix("faq/"): row for row in ratings or []}
    rows = sorted(rows, key=lambda row: order.get(row.topic, len(order)))  # stable
    return [
        {
            "topic": row.topic,
            "rating": (f"{by_topic[row.topic].helpful}× 👍 · {by_topic[row.topic].unhelpful}× 👎"
                       if row.topic in by_topic else ""),
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
    try:
        page = int(request.query.get("page", "1"))
    except ValueError:
        page = 1
    snapshot, computing = await _snapshots(request.app).get(WAIT_SECONDS)
    groups = snapshot.groups if snapshot else []
    data = await asyncio.to_thread(_page_data, settings, groups, page)
    html = _environment().get_template("trainer.html").render(
        csrf=agent.csrf_token, me=agent, page="trainer", notice=request.query.get("ok", ""),
        error=request.query.get("error", ""), ready=snapshot is not None,
        computing=computing,
        as_of=time.strftime("%H:%M:%S", time.localtime(snapshot.computed_at)) if snapshot else "",
        **data,
    )
    return web.Response(text=html, content_type="text/html", charset="utf-8")


def _snapshots(app: web.Application) -> ReviewSnapshots:
    return app[SNAPSHOTS_KEY]


def _apply(settings: Settings, form: Dict[str, str], by: str,
           known: Optional[Group] = None) -> str:
    """Apply a decision to the group as shown (from the snapshot; looked up only if unknown)."""
    decision = form.get("decision", "")
    group: Any = known or form.get("group", "")
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
        known = _snapshots(request.app).find(form.get("group", ""))
        if known is None:
            raise BotError("Die Gruppe ist nicht mehr offen – bitte Seite neu laden.")
        notice: Optional[str] = await asyncio.to_thread(_apply, settings, form, agent.name,
                                                        known)
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
    had_snapshots = SNAPSHOTS_KEY in app
    app[SETTINGS_KEY] = settings
    app[SNAPSHOTS_KEY] = ReviewSnapshots(settings.root, settings.tracker_db_url,
                                         settings.support_db_url)
    if not had_snapshots:
        async def stop_worker(app: web.Application) -> None:
            app[SNAPSHOTS_KEY].close()

        app.on_cleanup.append(stop_worker)  # type: ignore[arg-type]
    return [
        app.router.add_get("/inbox/trainer", trainer_page),
        app.router.add_post("/inbox/trainer/label", label),
        app.router.add_post("/inbox/trainer/answer", answer),
        app.router.add_get("/inbox/trainer/report", _to_report),
        app.router.add_get("/inbox/trainer/report/", report),
        app.router.add_get("/inbox/trainer/report/{name}", report),
    ]
