"""Log-in throttling (bot/inbox/_throttle.py) over real HTTP with the real SQLite database:
parallel tries are all counted, failing on purpose does not lock out the real agent, the
client address comes from X-Forwarded-For only behind a trusted proxy, and cookies get
``Secure`` when the inbox is public over https."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path
from typing import Dict, Tuple

from aiohttp import DummyCookieJar
from aiohttp.test_utils import TestClient

from bot.settings import load_settings
from tests._postgres import Databases
from tests.inbox._support import (
    LOGIN_TOKEN,
    PASSWORD,
    Harness,
    add_agent,
    run_async,
    start_harness,
)


async def _client(h: Harness) -> TestClient:
    """A client without a cookie jar: each request carries exactly the cookie we give it."""
    client = TestClient(h.server, cookie_jar=DummyCookieJar())
    await client.start_server()
    h.clients.append(client)
    return client


async def _login_token(client: TestClient) -> Tuple[str, str]:
    """(the login form's nonce cookie, its signed form token)."""
    page = await client.get("/login")
    token = LOGIN_TOKEN.search(await page.text())
    assert token
    return page.cookies["inbox_login"].value, token.group(1)


async def _try(client: TestClient, login: Tuple[str, str], password: str,
               forwarded_for: str = "", name: str = "anna") -> Tuple[int, str, str]:
    nonce, token = login
    headers = {"Cookie": f"inbox_login={nonce}"}
    if forwarded_for:
        headers["X-Forwarded-For"] = forwarded_for
    response = await client.post(
        "/login", data={"name": name, "password": password, "csrf_token": token},
        headers=headers, allow_redirects=False,
    )
    return (response.status, response.headers.get("Retry-After", ""),
            response.headers.get("Location", ""))


def test_parallel_wrong_passwords_are_all_counted(tmp_path: Path, databases: Databases) -> None:
    """On SQLite and on PostgreSQL (INSERT … ON CONFLICT DO UPDATE takes the row locks)."""
    asyncio.run(_parallel_wrong_passwords(tmp_path, databases.new("support")))


async def _parallel_wrong_passwords(tmp_path: Path, support_url: str) -> None:
    h = await start_harness(tmp_path, SUPPORT_DB_URL=support_url)
    try:
        add_agent(h.store, "anna")
        client = await _client(h)
        token = await _login_token(client)
        results = await asyncio.gather(*(_try(client, token, f"falsch-{i:04d}-x")
                                         for i in range(25)))
        statuses = Counter(status for status, _, _ in results)
        # exactly the five allowed tries reached the password check; the rest were refused
        assert statuses == Counter({401: 5, 429: 20})
        assert all(int(retry) > 0 for status, retry, _ in results if status == 429)
        # this client stays blocked for this account, even with the right password
        status, retry, _ = await _try(client, token, PASSWORD)
        assert status == 429 and 0 < int(retry) <= 15 * 60
    finally:
        await h.close()


@run_async
async def test_failing_on_purpose_does_not_lock_out_the_agent(tmp_path: Path) -> None:
    h = await start_harness(tmp_path, INBOX_TRUSTED_PROXIES="127.0.0.1")
    try:
        add_agent(h.store, "anna")
        attacker, agent = await _client(h), await _client(h)
        attacker_token = await _login_token(attacker)
        statuses = [(await _try(attacker, attacker_token, f"rate-mal-{i}", "203.0.113.9"))[0]
                    for i in range(8)]
        assert statuses == [401] * 5 + [429] * 3
        # the attacker's source is refused even with the right password …
        assert (await _try(attacker, attacker_token, PASSWORD, "203.0.113.9"))[0] == 429
        # … but anna, from her own address, still gets in with it
        status, _, location = await _try(agent, await _login_token(agent), PASSWORD,
                                         "198.51.100.20")
        assert (status, location) == (302, "/inbox")
        # and after the window the attacker's source may try again (and fail again)
        h.clock.now += h.inbox.throttle.window
        assert (await _try(attacker, attacker_token, "noch-ein-versuch", "203.0.113.9"))[0] == 401
    finally:
        await h.close()


@run_async
async def test_forwarded_for_is_ignored_without_a_trusted_proxy(tmp_path: Path) -> None:
    h = await start_harness(tmp_path)  # INBOX_TRUSTED_PROXIES unset: the peer is the client
    try:
        add_agent(h.store, "anna")
        client = await _client(h)
        token = await _login_token(client)
        statuses = [(await _try(client, token, "falsch-falsch", f"192.0.2.{i}"))[0]
                    for i in range(1, 7)]
        assert statuses == [401] * 5 + [429]
    finally:
        await h.close()


@run_async
async def test_forwarded_for_from_an_untrusted_hop_is_not_believed(tmp_path: Path) -> None:
    # loopback is a trusted proxy, but the hop before it (198.51.100.1) is not: an entry the
    # client wrote further left must not become its address
    h = await start_harness(tmp_path, INBOX_TRUSTED_PROXIES="127.0.0.0/8")
    try:
        add_agent(h.store, "anna")
        client = await _client(h)
        token = await _login_token(client)
        statuses = [(await _try(client, token, "falsch-falsch",
                                f"10.9.9.{i}, 198.51.100.1"))[0] for i in range(1, 7)]
        assert statuses == [401] * 5 + [429]
    finally:
        await h.close()


def _secure_flags(response_cookies: object) -> Dict[str, bool]:
    return {name: bool(morsel["secure"]) for name, morsel in response_cookies.items()}  # type: ignore[attr-defined]


@run_async
async def test_cookies_are_secure_when_the_public_address_is_https(tmp_path: Path) -> None:
    h = await start_harness(tmp_path, PUBLIC_BASE_URL="https://bot.example.de")
    try:
        add_agent(h.store, "anna")
        client = await h.client()
        page = await client.get("/login")
        assert _secure_flags(page.cookies) == {"inbox_login": True}
        nonce = page.cookies["inbox_login"].value
        token = LOGIN_TOKEN.search(await page.text())
        assert token
        # (the test client does not send Secure cookies over http: send it by hand)
        response = await client.post(
            "/login", data={"name": "anna", "password": PASSWORD, "csrf_token": token.group(1)},
            headers={"Cookie": f"inbox_login={nonce}"}, allow_redirects=False,
        )
        assert response.status == 302
        assert _secure_flags(response.cookies)["inbox_session"] is True
    finally:
        await h.close()


def test_cookie_secure_setting() -> None:
    def secure(**env: str) -> bool:
        return load_settings(env).inbox_cookie_secure

    assert secure() is False
    assert secure(PUBLIC_BASE_URL="http://127.0.0.1:8000") is False
    assert secure(PUBLIC_BASE_URL="https://bot.example.de") is True
    assert secure(PUBLIC_BASE_URL="https://bot.example.de", INBOX_COOKIE_SECURE="false") is False
    assert secure(INBOX_COOKIE_SECURE="1") is True


@run_async
async def test_rotating_ipv6_addresses_of_one_line_count_together(tmp_path: Path) -> None:
    h = await start_harness(tmp_path, INBOX_TRUSTED_PROXIES="127.0.0.1")
    try:
        add_agent(h.store, "anna")
        client = await _client(h)
        statuses = [(await _try(client, await _login_token(client), "falsch-falsch",
                                f"2001:db8:5:7::{i:x}"))[0] for i in range(1, 7)]
        assert statuses == [401] * 5 + [429]
        # another line (another /64) is not affected
        other = await _try(client, await _login_token(client), PASSWORD, "2001:db8:5:8::1")
        assert other[0] == 302
    finally:
        await h.close()
