"""The trainer page mounted on the real inbox app: login required, CSRF checked, labelling from
the browser writes masked training data."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer
from rasa.shared.core.events import ActionExecuted

from bot.inbox import create_app
from bot.inbox._context import INBOX_KEY
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
