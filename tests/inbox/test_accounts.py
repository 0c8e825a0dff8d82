"""Admins manage accounts in the inbox: add with a one-time password shown once, reset,
disable/enable, roles; CSRF checked; everyone else gets 403."""

from __future__ import annotations

import re
from pathlib import Path

from aiohttp.test_utils import TestClient

from tests.inbox._support import LOGIN_TOKEN, add_agent, login, run_async, start_harness

ONE_TIME = re.compile(r'<code class="one-time-password">([^<]+)</code>')


async def try_login(client: TestClient, name: str, password: str) -> str:
    """Where the login form sends you ("" when refused)."""
    token = LOGIN_TOKEN.search(await (await client.get("/login")).text())
    assert token
    response = await client.post("/login", allow_redirects=False, data={
        "name": name, "password": password, "csrf_token": token.group(1)})
    return response.headers.get("Location", "") if response.status == 302 else ""


def agent_id(page: str, name: str) -> str:
    match = re.search(rf'data-agent="{name}">.*?name="agent_id" value="(\d+)"', page, re.S)
    assert match, name
    return match.group(1)


@run_async
async def test_admin_adds_resets_disables_and_changes_roles_others_get_403(
    tmp_path: Path
) -> None:
    h = await start_harness(tmp_path)
    try:
        add_agent(h.store, "chefin", admin=True)
        add_agent(h.store, "anna")
        anna = await h.client()
        await login(anna, "anna")
        assert (await anna.get("/inbox/agents")).status == 403
        anna_csrf = re.search(r'content="([^"]+)"', await (await anna.get("/inbox")).text())
        assert anna_csrf
        refused = await anna.post("/inbox/agents", data={
            "action": "add", "name": "mallory", "role": "admin",
            "csrf_token": anna_csrf.group(1)})
        assert refused.status == 403

        admin = await h.client()
        csrf = await login(admin, "chefin")
        page = await admin.get("/inbox/agents")
        assert page.status == 200 and "anna" in await page.text()
        forged = await admin.post("/inbox/agents", data={"action": "add", "name": "x"})
        assert forged.status == 403

        added = await admin.post("/inbox/agents", data={
            "action": "add", "name": "ben", "role": "trainer", "csrf_token": csrf})
        text = await added.text()
        assert added.headers["Cache-Control"] == "no-store"
        one_time = ONE_TIME.search(text)
        assert one_time and "Trainer „ben“ angelegt." in text
        assert ONE_TIME.search(await (await admin.get("/inbox/agents")).text()) is None
        newcomer = await h.client()
        assert await try_login(newcomer, "ben", one_time.group(1)) == "/inbox/password"

        ben = agent_id(text, "ben")
        reset = await (await admin.post("/inbox/agents", data={
            "action": "reset", "agent_id": ben, "csrf_token": csrf})).text()
        second = ONE_TIME.search(reset)
        assert second and second.group(1) != one_time.group(1)
        assert await try_login(await h.client(), "ben", one_time.group(1)) == ""
        assert await try_login(await h.client(), "ben", second.group(1)) == "/inbox/password"

        await admin.post("/inbox/agents", data={
            "action": "disable", "agent_id": ben, "csrf_token": csrf})
        assert await try_login(await h.client(), "ben", second.group(1)) == ""
        await admin.post("/inbox/agents", data={
            "action": "enable", "agent_id": ben, "csrf_token": csrf})
        assert await try_login(await h.client(), "ben", second.group(1)) == "/inbox/password"

        anna_id = agent_id(text, "anna")
        promoted = await (await admin.post("/inbox/agents", data={
            "action": "role", "agent_id": anna_id, "role": "admin", "csrf_token": csrf})).text()
        assert "„anna“ ist jetzt Admin." in promoted
        assert (await anna.get("/inbox/agents")).status == 200

        me = agent_id(text, "chefin")
        self_disable = await admin.post("/inbox/agents", data={
            "action": "disable", "agent_id": me, "csrf_token": csrf})
        assert self_disable.status == 400
        assert "nicht selbst deaktivieren" in await self_disable.text()
    finally:
        await h.close()
