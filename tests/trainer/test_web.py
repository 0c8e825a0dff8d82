"""The trainer page mounted on the real inbox app: login required, CSRF checked, labelling from
the browser writes masked training data, FAQ answers are edited live and undone."""

from __future__ import annotations

import asyncio
import dataclasses
import html
import os
import random
import re
import shutil
import time
from contextlib import asynccontextmanager
from pathlib import Path
from typing import AsyncIterator, Dict, List, Tuple

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from rasa.shared.core.events import ActionExecuted, Event

from bot.answers import AnswerStore
from bot.inbox import create_app
from bot.inbox._context import INBOX_KEY
from bot.settings import PROJECT_ROOT, Settings
from bot.trainer import Project, load_training_data
from bot.trainer._web import SNAPSHOTS_KEY, add_trainer_routes
from tests.inbox._support import add_agent, login, make_settings, run_async
from tests.trainer.test_review import user, write_conversations

COMPUTING = "werden gerade gruppiert"


async def ready_page(client: TestClient, path: str = "/inbox/trainer") -> str:
    """The trainer page once the review queue is grouped (bounded: 120 tries of 0.5 s)."""
    for _ in range(120):
        page = await (await client.get(path)).text()
        if COMPUTING not in page:
            return page
        await asyncio.sleep(0.5)
    raise AssertionError("the review queue was not grouped within a minute")


@asynccontextmanager
async def trainer_client(settings: Settings, project: Project
                         ) -> AsyncIterator[Tuple[web.Application, TestClient]]:
    """The real inbox app with the trainer routes for ``project``, served on loopback."""
    app = create_app(settings, background=False)
    add_trainer_routes(app, dataclasses.replace(settings, root=project.root))
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    client = TestClient(server)
    await client.start_server()
    try:
        yield app, client
    finally:
        await client.close()
        await server.close()


@pytest.fixture()
def var(tmp_path: Path) -> Path:
    folder = tmp_path / "var"
    folder.mkdir()
    write_conversations(folder / "tracker.db", {
        "anna": [user("mein paket BP-734019 hängt seit tagen fest"),
                 ActionExecuted("action_handle_fallback")],
    })
    return folder


@run_async
async def test_trainer_page_lists_masked_messages_and_labels_them(
    project: Project, var: Path
) -> None:
    settings = make_settings(var)
    async with trainer_client(settings, project) as (app, client):
        anonymous = await client.get("/inbox/trainer", allow_redirects=False)
        assert anonymous.status == 302 and anonymous.headers["Location"] == "/login"
        add_agent(app[INBOX_KEY].db(), "mia", role="trainer")
        csrf = await login(client, "mia")
        page = await ready_page(client)
        assert "Was Paula nicht verstanden hat" in page
        assert "mein paket BP-000000 hängt seit tagen fest" in page
        assert "734019" not in page
        # The inbox look and navigation, topic titles from actions/topics.yml.
        assert 'class="rail"' in page and 'href="/inbox/trainer" class="rail-link active"' in page
        assert "Paulas Vermutung: <strong>Lieferzeit</strong>" in page
        assert '<option value="faq/shipping_costs">Versandkosten (faq/shipping_costs)</option>' \
            in page
        group = re.search(r'name="group" value="([0-9a-f]+)"', page)
        assert group
        form = {"group": group.group(1), "decision": "label", "label": "order_status"}
        forged = await client.post("/inbox/trainer/label", data=form, allow_redirects=False)
        assert forged.status == 403
        done = await client.post("/inbox/trainer/label", data={**form, "csrf_token": csrf})
        text = await done.text()
        assert "1 Beispiel(e) zu order_status hinzugefügt." in text
        assert "Keine offenen Nachrichten" in text
        assert "mein paket BP-000000 hängt seit tagen fest" in \
            load_training_data(project).examples_of("order_status")
        report = await client.get("/inbox/trainer/report/")
        assert report.status == 404 and "python -m bot evaluate" in await report.text()


EDITED = ("Innerhalb Deutschlands zahlst du 4,95 € Versand, ab 50 € Bestellwert gar nichts. "
          "Nach Österreich kostet der Versand 9,95 €, in die Schweiz 14,95 €.")


@run_async
async def test_trainer_page_edits_a_faq_answer_live_and_undoes_it(
    project: Project, var: Path
) -> None:
    shutil.copytree(PROJECT_ROOT / "company", project.root / "company")
    settings = make_settings(var)
    store = AnswerStore.open(settings.support_db_url)
    async with trainer_client(settings, project) as (app, client):
        try:
            form = {"topic": "shipping_costs", "decision": "edit", "answer": EDITED}
            anonymous = await client.post("/inbox/trainer/answer", data=form, allow_redirects=False)
            assert anonymous.status == 401
            add_agent(app[INBOX_KEY].db(), "mia", role="trainer")
            csrf = await login(client, "mia")
            page = html.unescape(await ready_page(client))
            assert 'id="a-shipping_costs"' in page
            assert "shipping_costs</strong> – aus domain.yml" in page
            forged = await client.post("/inbox/trainer/answer", data=form, allow_redirects=False)
            assert forged.status == 403
            assert store.history("shipping_costs") == []

            dropped = {**form, "csrf_token": csrf, "answer": EDITED.replace("ab 50 € ", "ab ")}
            refused = html.unescape(await (await client.post("/inbox/trainer/answer",
                                                             data=dropped)).text())
            assert "Nicht übernommen: Es fehlen Fakten aus company/bergpfad.yml: „50 €“" in refused
            formal = {**form, "csrf_token": csrf, "answer": EDITED + " Wir senden Ihnen gern mehr."}
            refused = html.unescape(await (await client.post("/inbox/trainer/answer",
                                                             data=formal)).text())
            assert "Die Antwort siezt" in refused
            assert store.history("shipping_costs") == []

            saved = html.unescape(await (await client.post(
                "/inbox/trainer/answer", data={**form, "csrf_token": csrf})).text())
            assert "Gespeichert: die neue Antwort für shipping_costs ist in wenigen Sekunden live" \
                in saved
            assert f">{EDITED}</textarea>" in saved and "live geändert von mia am" in saved
            live = store.live("shipping_costs")
            assert live is not None and live.author == "mia" and live.text == EDITED

            undo = {"topic": "shipping_costs", "decision": "undo", "csrf_token": csrf}
            undone = html.unescape(await (await client.post("/inbox/trainer/answer",
                                                            data=undo)).text())
            assert "Rückgängig gemacht: für shipping_costs gilt wieder die Antwort aus domain.yml" \
                in undone
            assert "rückgängig gemacht von mia am" in undone
            assert store.live("shipping_costs") is None
        finally:
            store.close()


WORDS = ("paket lieferung rechnung farbe größe rucksack zelt schlafsack wandern schuhe retoure "
         "gutschein konto passwort adresse umtausch kaputt nass teuer billig warum wann wo wie "
         "jacke hose handschuhe mütze socken stirnlampe kocher isomatte").split()


@pytest.fixture()
def busy_var(tmp_path: Path) -> Path:
    """1,000 messages the bot did not understand (100 customers × 10), via Rasa's tracker store."""
    folder = tmp_path / "var"
    folder.mkdir()
    rng = random.Random(7)
    conversations: Dict[str, List[Event]] = {}
    for sender in range(100):
        events: List[Event] = []
        for turn in range(10):
            words = " ".join(rng.choice(WORDS) for _ in range(rng.randint(5, 12)))
            events += [user(f"{words} {sender}-{turn}"), ActionExecuted("action_handle_fallback")]
        conversations[f"kunde{sender}"] = events
    write_conversations(folder / "tracker.db", conversations)
    return folder


@run_async
async def test_trainer_page_with_1000_missed_messages_is_paginated_and_chat_keeps_answering(
    project: Project, busy_var: Path
) -> None:
    folder = busy_var
    settings = make_settings(folder)
    async with trainer_client(settings, project) as (app, client):
        add_agent(app[INBOX_KEY].db(), "mia", role="trainer")
        csrf = await login(client, "mia")
        started = time.monotonic()
        first = asyncio.ensure_future(client.get("/inbox/trainer"))
        snapshots = app[SNAPSHOTS_KEY]
        for _ in range(200):  # until the grouping has started in the worker
            if snapshots.busy:
                break
            await asyncio.sleep(0.05)
        assert snapshots.busy
        chat = await client.get("/chat")
        chat_seconds = time.monotonic() - started
        assert chat.status == 200 and "<html" in (await chat.text()).lower()
        assert snapshots.busy, "the customer's /chat must answer while the queue is grouped"
        first_page = await (await first).text()
        first_seconds = time.monotonic() - started
        page = await ready_page(client)
        ready_seconds = time.monotonic() - started
        snapshot = snapshots.latest
        assert snapshot is not None and snapshot.worker_pid != os.getpid()
        reload_started = time.monotonic()
        page = await ready_page(client)
        reload_seconds = time.monotonic() - reload_started
        print(f"\n/chat {chat_seconds:.2f}s, first response {first_seconds:.2f}s "
              f"({'computing' if COMPUTING in first_page else 'ready'}), grouped in "
              f"{snapshot.seconds:.2f}s (ready after {ready_seconds:.2f}s), "
              f"reload {reload_seconds:.2f}s, {len(snapshot.groups)} groups")
        pages = re.search(r"Seite 1 von (\d+)", page)
        assert pages and int(pages.group(1)) >= 20
        assert page.count('class="review-group"') == 20
        second = await (await client.get("/inbox/trainer?page=2")).text()
        assert "Seite 2 von" in second and second.count('class="review-group"') == 20
        group = re.search(r'name="group" value="([0-9a-f]+)"', second)
        text = re.search(r"<h2>„(.*?)“", second)
        assert group and text
        done = await client.post("/inbox/trainer/label", data={
            "group": group.group(1), "decision": "ignore", "csrf_token": csrf})
        assert "Verworfen." in await done.text()
        remaining = [await (await client.get(f"/inbox/trainer?page={n}")).text()
                     for n in range(1, int(pages.group(1)) + 1)]
        assert not any(f'value="{group.group(1)}"' in p for p in remaining)


@run_async
async def test_trainer_page_lists_answer_ratings_weakest_first(
    project: Project, var: Path
) -> None:
    from tests.answers.test_feedback import plant

    settings = make_settings(var)
    plant(settings.support_db_url, [("shipping_costs", i < 9) for i in range(10)]
          + [("return_policy", i < 2) for i in range(8)] + [("delivery_time", False)])
    async with trainer_client(settings, project) as (app, client):
        add_agent(app[INBOX_KEY].db(), "mia", role="trainer")
        await login(client, "mia")
        page = html.unescape(await ready_page(client))
        table = page[page.index('id="geholfen"'):page.index('id="antworten"')]
        rows = re.findall(r'<tr[^>]*><td><a href="#a-(\w+)">', table)
        assert rows == ["return_policy", "shipping_costs", "delivery_time"]
        assert "<td>2</td><td>6</td><td>8</td><td>25 %</td>" in table
        assert "<td>0</td><td>1</td><td>1</td><td>–</td>" in table  # too few for a share
        # The edit forms follow the same order, each with its counts.
        answers = re.findall(r'<section class="answer" id="a-(\w+)">', page)
        assert answers[:3] == ["return_policy", "shipping_costs", "delivery_time"]
        assert "return_policy</strong> – aus domain.yml · 2× 👍 · 6× 👎" in page
