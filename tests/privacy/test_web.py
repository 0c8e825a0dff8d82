"""The inbox's data-protection page: admins look up, download and delete; nobody else can."""

from __future__ import annotations

import json
from pathlib import Path

from bot.privacy._stores import collect
from tests.inbox._support import add_agent, login, run_async, start_harness
from tests.privacy._plant import plant, settings_for, stores
from tests.privacy.test_stores import JANA, TOM, everything


@run_async
async def test_agents_without_admin_flag_cannot_see_export_or_delete(tmp_path: Path) -> None:
    plant(settings_for(tmp_path), JANA)
    harness = await start_harness(tmp_path)
    try:
        add_agent(harness.store, "bert")
        client = await harness.client()
        csrf = await login(client, "bert")
        page = await client.get("/inbox/privacy")
        assert page.status == 403
        for path in ("/inbox/privacy", "/inbox/privacy/export", "/inbox/privacy/delete"):
            response = await client.post(
                path, data={"csrf_token": csrf, "q": JANA.sender_id, "confirm": "yes"}
            )
            assert response.status == 403, path
            assert JANA.texts[0] not in await response.text()
        assert "Datenschutz" not in await (await client.get("/inbox")).text()
        assert collect(stores(harness.settings), JANA.sender_id).found
    finally:
        await harness.close()


@run_async
async def test_admin_looks_up_downloads_and_deletes_with_confirmation(tmp_path: Path) -> None:
    plant(settings_for(tmp_path), JANA)
    plant(settings_for(tmp_path), TOM)
    harness = await start_harness(tmp_path)
    try:
        add_agent(harness.store, "chefin", admin=True)
        client = await harness.client()
        csrf = await login(client, "chefin")
        assert "/inbox/privacy" in await (await client.get("/inbox")).text()
        assert (await client.get("/inbox/privacy")).status == 200

        found = await client.post("/inbox/privacy", data={"csrf_token": csrf, "q": "0170 12345678"})
        page = await found.text()
        assert found.status == 200 and "whatsapp:+4917012345678" in page
        assert "Interne Notizen des Teams" in page

        download = await client.post(
            "/inbox/privacy/export", data={"csrf_token": csrf, "q": "0170 12345678"}
        )
        assert download.status == 200
        assert "attachment" in download.headers["Content-Disposition"]
        exported = json.loads(await download.text())
        assert exported["sender_ids"] == [JANA.sender_id]
        assert JANA.note in json.dumps(exported, ensure_ascii=False)
        german = await client.post(
            "/inbox/privacy/export",
            data={"csrf_token": csrf, "q": JANA.sender_id, "format": "text"},
        )
        assert "Datenauskunft nach Art. 15 DSGVO" in await german.text()

        no_csrf = await client.post(
            "/inbox/privacy/delete", data={"q": JANA.sender_id, "confirm": "yes"}
        )
        assert no_csrf.status == 403
        unconfirmed = await client.post(
            "/inbox/privacy/delete", data={"csrf_token": csrf, "q": JANA.sender_id}
        )
        assert unconfirmed.status == 400
        assert collect(stores(harness.settings), JANA.sender_id).found

        deleted = await client.post(
            "/inbox/privacy/delete",
            data={"csrf_token": csrf, "q": JANA.sender_id, "confirm": "yes"},
        )
        assert deleted.status == 200 and "Gelöscht:" in await deleted.text()
        assert not collect(stores(harness.settings), JANA.sender_id).found
        after = everything(tmp_path)
        assert JANA.sender_id not in after and JANA.texts[1] not in after
        assert TOM.texts[1] in after
    finally:
        await harness.close()
