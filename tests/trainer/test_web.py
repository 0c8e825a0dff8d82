"""The trainer page mounted on the real inbox app: login required, CSRF checked, labelling from
the browser writes masked training data, FAQ answers are edited live and undone."""

from __future__ import annotations

import dataclasses
import html
import re
import shutil
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer
from rasa.shared.core.events import ActionExecuted

from bot.answers import AnswerStore
from bot.inbox import create_app
from bot.inbox._context import INBOX_KEY
from bot.settings import PROJECT_ROOT
from bot.trainer import Project, load_training_data
from bot.trainer._web import add_trainer_routes
from tests.inbox._support import add_agent, login, make_settings, run_async
from tests.trainer.test_review import user, write_conversations


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
    app = create_app(settings, background=False)
    add_trainer_routes(app, dataclasses.replace(settings, root=project.root))
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    client = TestClient(server)
    await client.start_server()
    try:
        anonymous = await client.get("/inbox/trainer", allow_redirects=False)
        assert anonymous.status == 302 and anonymous.headers["Location"] == "/login"
        add_agent(app[INBOX_KEY].db(), "mia", role="trainer")
        csrf = await login(client, "mia")
        page = await (await client.get("/inbox/trainer")).text()
        assert "Was Paula nicht verstanden hat" in page
        assert "mein paket BP-000000 hängt seit tagen fest" in page
        assert "734019" not in page
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
    finally:
        await client.close()
        await server.close()


EDITED = ("Innerhalb Deutschlands zahlst du 4,95 € Versand, ab 50 € Bestellwert gar nichts. "
          "Nach Österreich kostet der Versand 9,95 €, in die Schweiz 14,95 €.")


@run_async
async def test_trainer_page_edits_a_faq_answer_live_and_undoes_it(
    project: Project, var: Path
) -> None:
    shutil.copytree(PROJECT_ROOT / "company", project.root / "company")
    settings = make_settings(var)
    app = create_app(settings, background=False)
    add_trainer_routes(app, dataclasses.replace(settings, root=project.root))
    store = AnswerStore.open(settings.support_db_url)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    client = TestClient(server)
    await client.start_server()
    try:
        form = {"topic": "shipping_costs", "decision": "edit", "answer": EDITED}
        anonymous = await client.post("/inbox/trainer/answer", data=form, allow_redirects=False)
        assert anonymous.status == 401
        add_agent(app[INBOX_KEY].db(), "mia", role="trainer")
        csrf = await login(client, "mia")
        page = html.unescape(await (await client.get("/inbox/trainer")).text())
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
        await client.close()
        await server.close()
