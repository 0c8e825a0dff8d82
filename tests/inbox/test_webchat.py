"""The web chat (bot/inbox/_webchat.py): a conversation belongs to the browser that holds its
signed cookie; sizes and malformed bodies get a German answer or 4xx, never a 500."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from aiohttp.test_utils import TestClient

from bot.inbox._webchat import (
    COOKIE,
    MAX_STREAMS_PER_SENDER,
    STREAMS_KEY,
    sender_from_cookie,
    sign_sender,
)
from tests.inbox._support import Harness, run_async, start_harness


def browser_sender(h: Harness, client: TestClient) -> str:
    cookie = client.session.cookie_jar.filter_cookies(client.make_url("/chat"))[COOKIE]
    sender = sender_from_cookie(h.inbox.secret, cookie.value)
    assert sender is not None
    return sender


@run_async
async def test_conversation_is_bound_to_the_browser_cookie(tmp_path: Path) -> None:
    h = await start_harness(tmp_path)
    try:
        customer = await h.client()
        page = await customer.get("/chat")
        assert page.status == 200
        set_cookie = page.headers["Set-Cookie"]
        assert "HttpOnly" in set_cookie and "SameSite=Strict" in set_cookie
        sender = browser_sender(h, customer)
        assert sender.startswith("web-")

        # The browser's messages go to Rasa under its own sender; a sender in the body is ignored.
        response = await customer.post(
            "/chat/api/messages", json={"sender": "web-someoneelse123", "message": "Hallo"}
        )
        assert response.status == 200
        sent = h.rasa.rest_messages[-1]
        assert {k: sent[k] for k in ("sender", "message")} == {"sender": sender, "message": "Hallo"}
        assert len(sent["message_id"]) == 32  # one per message: a retried request is one turn

        # Someone who knows the sender id but has not the cookie reads and writes nothing.
        stranger = await h.client()
        stream = await stranger.get("/chat/api/events", params={"sender": sender})
        assert stream.status == 403
        assert "lade die Seite neu" in (await stream.json())["error"]
        sent = await stranger.post("/chat/api/messages",
                                   json={"sender": sender, "message": "Hallo"})
        assert sent.status == 403
        forged = await h.client()
        forged.session.cookie_jar.update_cookies(
            {COOKIE: f"{sender}.{'A' * 43}"}, forged.make_url("/chat")
        )
        assert (await forged.get("/chat/api/events")).status == 403
        assert len(h.rasa.rest_messages) == 1
    finally:
        await h.close()


@run_async
async def test_sizes_and_malformed_bodies_get_clear_answers(tmp_path: Path) -> None:
    h = await start_harness(tmp_path)
    try:
        customer = await h.client()
        await customer.get("/chat")
        too_long = await customer.post("/chat/api/messages", json={"message": "x" * 2001})
        assert too_long.status == 413
        assert "höchstens 2000 Zeichen" in (await too_long.json())["error"]
        huge = await customer.post("/chat/api/messages", json={"message": "x" * 250_000})
        assert huge.status == 413 and "zu lang" in (await huge.json())["error"]
        for body in (b"[" * 5000 + b"]" * 5000, b"", b"[1]", b'{"message": 5}',
                     b'{"message": "  "}', b"\xff\xfe"):
            response = await customer.post(
                "/chat/api/messages", data=body, headers={"Content-Type": "application/json"}
            )
            assert response.status == 400, body[:20]
            assert (await response.json())["error"] == "Ungültige Anfrage."
        assert h.rasa.rest_messages == []
    finally:
        await h.close()


@run_async
async def test_live_streams_are_capped_and_end_when_idle(tmp_path: Path) -> None:
    h = await start_harness(tmp_path)
    try:
        customer = await h.client()
        await customer.get("/chat")
        streams = [await customer.get("/chat/api/events") for _ in range(MAX_STREAMS_PER_SENDER)]
        assert [s.status for s in streams] == [200] * MAX_STREAMS_PER_SENDER
        refused = await customer.get("/chat/api/events")
        assert refused.status == 429
        # an idle stream ends by itself (the page's EventSource reconnects when still open)
        h.app[STREAMS_KEY].idle_seconds = 0.2
        other = await h.client()
        await other.get("/chat")
        stream = await other.get("/chat/api/events")
        assert stream.status == 200
        body = await asyncio.wait_for(stream.read(), 10)
        assert body.startswith(b"retry:")
        # its slot is free again
        again = await other.get("/chat/api/events")
        assert again.status == 200
        again.close()
        for stream in streams:
            stream.close()
    finally:
        await h.close()


@run_async
async def test_live_stream_carries_only_the_own_conversation(tmp_path: Path) -> None:
    h = await start_harness(tmp_path)
    try:
        mine, other = await h.client(), await h.client()
        await mine.get("/chat")
        await other.get("/chat")
        assert browser_sender(h, mine) != browser_sender(h, other)
        stream = await other.get("/chat/api/events")
        h.inbox.hub.publish_topic(browser_sender(h, mine), "message", {"text": "geheim"})
        h.inbox.hub.publish_topic(browser_sender(h, other), "message", {"text": "deins"})
        seen = b""
        while b"event: message" not in seen:
            seen += await asyncio.wait_for(stream.content.readuntil(b"\n\n"), 5)
        assert json.loads(seen.split(b"data: ", 1)[1].split(b"\n", 1)[0]) == {"text": "deins"}
        assert b"geheim" not in seen
        stream.close()
        # a cookie signed with another key is not accepted
        assert sender_from_cookie(h.inbox.secret, sign_sender("other-key", "web-abcdefgh12")) \
            is None
    finally:
        await h.close()


@run_async
async def test_history_shows_only_this_browsers_conversation(tmp_path: Path) -> None:
    h = await start_harness(tmp_path)
    try:
        # No cookie: an empty history (the page then sets a fresh cookie), nothing of others.
        fresh = await h.client()
        empty = await fresh.get("/chat/api/history")
        assert empty.status == 200 and (await empty.json()) == {"messages": []}

        customer = await h.client()
        page = await customer.get("/chat")
        assert "script-src 'self'" in page.headers["Content-Security-Policy"]
        assert page.headers["X-Frame-Options"] == "DENY"
        sender = browser_sender(h, customer)
        h.rasa.record(sender, {"event": "user", "text": "Wo ist meine Bestellung?"})
        h.rasa.record(sender, {"event": "bot", "text": "Sendungsverfolgung: https://www.dhl.de/x"})
        h.rasa.record(sender, {"event": "user", "text": "Ich will einen Menschen"})
        h.rasa.record(sender, {"event": "pause"})
        h.rasa.record(sender, {"event": "bot", "text": "Hallo, hier ist Anna.",
                               "metadata": {"inbox": {"kind": "reply", "agent": "Anna Berg",
                                                      "agent_id": 1, "reply_id": 1}}})
        h.rasa.record(sender, {"event": "bot", "text": "Wie zufrieden warst du?",
                               "data": {"buttons": [{"title": "Gut", "payload": "/rate"}]},
                               "metadata": {"inbox": {"kind": "csat"}}})
        other = "web-someoneelse1234"
        h.rasa.record(other, {"event": "user", "text": "Geheimnis von jemand anderem"})

        response = await customer.get("/chat/api/history", params={"sender": other})
        assert response.status == 200
        messages = (await response.json())["messages"]
        assert messages == [
            {"from": "user", "text": "Wo ist meine Bestellung?"},
            {"from": "bot", "text": "Sendungsverfolgung: https://www.dhl.de/x"},
            {"from": "user", "text": "Ich will einen Menschen"},
            {"from": "team", "text": "Hallo, hier ist Anna.", "agent": "Anna (Team)"},
            {"from": "team", "text": "Wie zufrieden warst du?",
             "buttons": [{"title": "Gut", "payload": "/rate"}]},
        ]

        # Another browser (its own cookie) sees nothing of this conversation.
        stranger = await h.client()
        await stranger.get("/chat")
        assert (await (await stranger.get("/chat/api/history")).json()) == {"messages": []}
        forged = await h.client()
        forged.session.cookie_jar.update_cookies(
            {COOKIE: f"{sender}.{'A' * 43}"}, forged.make_url("/chat")
        )
        assert (await (await forged.get("/chat/api/history")).json()) == {"messages": []}
    finally:
        await h.close()


@run_async
async def test_live_team_reply_carries_the_agents_first_name(tmp_path: Path) -> None:
    from bot.inbox._broker import _web_payload

    payload = _web_payload({"event": "bot", "text": "Hi",
                            "metadata": {"inbox": {"kind": "reply", "agent": "Anna Berg"}}})
    assert payload["agent"] == "Anna (Team)"
    assert "agent" not in _web_payload({"event": "bot", "text": "Hi"})
