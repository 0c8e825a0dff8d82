"""Every inbox route refuses without a session; CSRF; escaping; logout really ends a session;
login rate limit; passwords hashed with scrypt."""

from __future__ import annotations

import re
from pathlib import Path

from bot.inbox._passwords import hash_password, verify_password
from bot.inbox._security import PUBLIC_ROUTES, is_public
from tests.inbox._support import (
    LOGIN_TOKEN,
    PASSWORD,
    add_agent,
    customer_says,
    escalate,
    login,
    post_json,
    run_async,
    start_harness,
)

XSS = "<script>alert(1)</script>"


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", path)


@run_async
async def test_every_inbox_route_refuses_without_a_session(tmp_path: Path) -> None:
    h = await start_harness(tmp_path)
    try:
        add_agent(h.store, "anna")
        escalate(h.rasa, h.store, "tg-1")
        await h.consume()
        client = await h.client()
        checked = []
        for route in h.app.router.routes():
            info = route.resource.get_info() if route.resource else {}
            path = info.get("path") or info.get("formatter") or info.get("prefix")
            if route.method == "HEAD" or path is None:
                continue
            if is_public(route.method, path if "prefix" not in info else path + "/x"):
                continue
            url = _concrete(path)
            response = await client.request(route.method, url, allow_redirects=False,
                                            json={"text": "x"})
            body = await response.text()
            assert response.status in (302, 401), (route.method, url, response.status)
            if response.status == 302:
                assert response.headers["Location"] == "/login"
            assert "tg-1" not in body and "Ich will einen Menschen" not in body
            checked.append((route.method, url))
        # the real inbox surface is covered, not an empty list
        assert ("POST", "/inbox/api/conversations/1/claim") in checked
        assert ("GET", "/inbox/events") in checked
        assert ("GET", "/inbox/api/queue") in checked
        assert len(checked) >= 18
        # and the public set is exactly the login form and the customer's web chat
        assert {path for _, path in PUBLIC_ROUTES} == {
            "/", "/login", "/chat", "/chat/api/messages", "/chat/api/events", "/chat/api/history"
        }
    finally:
        await h.close()


@run_async
async def test_state_changes_need_the_csrf_token(tmp_path: Path) -> None:
    h = await start_harness(tmp_path)
    try:
        add_agent(h.store, "anna")
        handoff_id = escalate(h.rasa, h.store, "tg-2")
        await h.consume()
        client = await h.client()
        csrf = await login(client, "anna")
        url = f"/inbox/api/conversations/{handoff_id}/claim"
        assert (await client.post(url, json={})).status == 403
        assert (await post_json(client, url, "wrong-token")).status == 403
        cross = await client.post(url, json={}, headers={"X-CSRF-Token": csrf,
                                                         "Origin": "https://evil.example"})
        assert cross.status == 403
        # the logout form needs it too
        assert (await client.post("/logout", data={}, allow_redirects=False)).status == 403
        assert (await post_json(client, url, csrf)).status == 200
    finally:
        await h.close()


@run_async
async def test_customer_text_is_escaped_in_queue_and_transcript(tmp_path: Path) -> None:
    h = await start_harness(tmp_path)
    try:
        add_agent(h.store, "anna")
        handoff_id = escalate(h.rasa, h.store, "tg-3", XSS)
        customer_says(h.rasa, "tg-3", f"noch mal {XSS}")
        await h.consume()
        client = await h.client()
        await login(client, "anna")
        queue = (await (await client.get("/inbox/api/queue")).json())["html"]
        view = (await (await client.get(f"/inbox/api/conversations/{handoff_id}")).json())["html"]
        for html in (queue, view):
            assert "<script>" not in html
            assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
        page = await client.get("/inbox")
        assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    finally:
        await h.close()


@run_async
async def test_session_cookie_is_dead_after_logout(tmp_path: Path) -> None:
    h = await start_harness(tmp_path)
    try:
        add_agent(h.store, "anna")
        handoff_id = escalate(h.rasa, h.store, "tg-4")
        await h.consume()
        client = await h.client()
        login_page = await client.get("/login")
        token = LOGIN_TOKEN.search(await login_page.text())
        assert token
        response = await client.post(
            "/login", data={"name": "anna", "password": PASSWORD, "csrf_token": token.group(1)},
            allow_redirects=False,
        )
        cookie = response.cookies["inbox_session"]
        assert cookie["httponly"] and cookie["samesite"] == "Strict"
        stolen = cookie.value
        inbox_page = await (await client.get("/inbox")).text()
        csrf = re.search(r'csrf-token" content="([^"]+)"', inbox_page)
        assert csrf
        out = await client.post("/logout", data={"csrf_token": csrf.group(1)},
                                allow_redirects=False)
        assert out.status == 302
        # someone replays the old cookie (and the old CSRF token) in another client
        other = await h.client()
        other.session.cookie_jar.update_cookies({"inbox_session": stolen})
        assert (await other.get("/inbox/api/queue")).status == 401
        claim = await other.post(f"/inbox/api/conversations/{handoff_id}/claim", json={},
                                 headers={"X-CSRF-Token": csrf.group(1)})
        assert claim.status == 401
    finally:
        await h.close()


@run_async
async def test_login_is_rate_limited(tmp_path: Path) -> None:
    h = await start_harness(tmp_path)
    try:
        add_agent(h.store, "anna")
        client = await h.client()
        statuses = []
        for _ in range(6):
            page = await client.get("/login")
            token = LOGIN_TOKEN.search(await page.text())
            assert token
            response = await client.post(
                "/login", data={"name": "anna", "password": "falsch-falsch",
                                "csrf_token": token.group(1)}, allow_redirects=False,
            )
            statuses.append(response.status)
        assert statuses[:5] == [401] * 5
        assert statuses[5] == 429
        # even the right password is refused while blocked
        page = await client.get("/login")
        token = LOGIN_TOKEN.search(await page.text())
        assert token
        response = await client.post(
            "/login", data={"name": "anna", "password": PASSWORD, "csrf_token": token.group(1)},
            allow_redirects=False,
        )
        assert response.status == 429
        assert "Zu viele Fehlversuche" in await response.text()
    finally:
        await h.close()


@run_async
async def test_login_form_needs_its_token(tmp_path: Path) -> None:
    h = await start_harness(tmp_path)
    try:
        add_agent(h.store, "anna")
        client = await h.client()
        response = await client.post("/login", data={"name": "anna", "password": PASSWORD},
                                     allow_redirects=False)
        assert response.status == 403
    finally:
        await h.close()


def test_passwords_are_scrypt_hashed_and_salted() -> None:
    first, second = hash_password(PASSWORD), hash_password(PASSWORD)
    assert first.startswith("scrypt$") and first != second and PASSWORD not in first
    assert verify_password(PASSWORD, first) and not verify_password("nope-nope-nope", first)
