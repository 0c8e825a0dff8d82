"""The inbox end to end over loopback HTTP: real SQLite support DB, a fake Rasa HTTP API that
writes Rasa's event-broker table, the real consumer."""

from __future__ import annotations

from pathlib import Path

from tests.inbox._support import (
    add_agent,
    customer_says,
    escalate,
    get_handoff,
    login,
    post_json,
    record_failed_delivery,
    record_media,
    run_async,
    start_harness,
)


@run_async
async def test_handoff_appears_in_queue_claim_reply_note_resolve(tmp_path: Path) -> None:
    h = await start_harness(tmp_path)
    try:
        add_agent(h.store, "anna")
        client = await h.client()
        csrf = await login(client, "anna")
        handoff_id = escalate(h.rasa, h.store, "tg-1001", "Mein Paket ist kaputt angekommen!")
        await h.consume()

        queue = await (await client.get("/inbox/api/queue?who=unassigned")).json()
        assert "Mein Paket ist kaputt angekommen!" in queue["html"]
        assert "Telegram" in queue["html"]
        assert queue["counts"]["unassigned"] == 1

        response = await post_json(client, f"/inbox/api/conversations/{handoff_id}/claim", csrf)
        assert response.status == 200, await response.text()
        assert get_handoff(h.store, handoff_id).status == "assigned"

        response = await post_json(
            client, f"/inbox/api/conversations/{handoff_id}/reply", csrf,
            {"text": "Hallo, hier ist Anna. Das tut mir leid!"},
        )
        assert response.status == 200, await response.text()
        sent = [e for e in h.rasa.appended if e["event"] == "bot"]
        assert sent[-1]["text"] == "Hallo, hier ist Anna. Das tut mir leid!"
        assert sent[-1]["metadata"]["inbox"]["agent"] == "anna"
        assert get_handoff(h.store, handoff_id).first_reply_at is not None

        response = await post_json(
            client, f"/inbox/api/conversations/{handoff_id}/notes", csrf,
            {"text": "Kunde hat Foto geschickt, Ersatz veranlassen"},
        )
        assert response.status == 200
        assert not any("Ersatz veranlassen" in str(e.get("text")) for e in h.rasa.appended)

        customer_says(h.rasa, "tg-1001", "Danke, hier ist das Foto",
                      {"media": [{"kind": "photo", "reference": "photo-file-id",
                                  "content_type": "image/jpeg"}]})
        await h.consume()
        view = await (await client.get(f"/inbox/api/conversations/{handoff_id}")).json()
        page = view["html"]
        assert "Mein Paket ist kaputt angekommen!" in page
        assert "Hallo, hier ist Anna. Das tut mir leid!" in page
        assert "Kunde hat Foto geschickt, Ersatz veranlassen" in page and "Interne Notiz" in page
        assert 'src="/inbox/api/media?sender=tg-1001&amp;ref=photo-file-id"' in page
        assert "anna hat das Gespräch übernommen" in page

        response = await post_json(client, f"/inbox/api/conversations/{handoff_id}/resolve", csrf)
        assert response.status == 200, await response.text()
        record = get_handoff(h.store, handoff_id)
        assert record.status == "resolved" and record.resolved_at is not None
        kinds = [e["event"] for e in h.rasa.appended]
        assert kinds[-3:] == ["resume", "bot", "action"]
        assert h.rasa.appended[-1]["name"] == "action_listen"
        question = h.rasa.appended[-2]
        assert "1" in question["text"] and "5" in question["text"]
        assert [b["payload"] for b in question["data"]["buttons"]] == [
            f'/rate{{"rating": {n}}}' for n in range(1, 6)
        ]
    finally:
        await h.close()


@run_async
async def test_delivery_failure_is_shown_on_the_message(tmp_path: Path) -> None:
    h = await start_harness(tmp_path)
    try:
        add_agent(h.store, "anna")
        client = await h.client()
        csrf = await login(client, "anna")
        handoff_id = escalate(h.rasa, h.store, "whatsapp:+4915112345678", channel="whatsapp")
        await h.consume()
        await post_json(client, f"/inbox/api/conversations/{handoff_id}/claim", csrf)
        h.rasa.delivery_error = "Twilio error 63016: outside the allowed 24 hour window"
        # The channel records the typed reason; the inbox shows it, not Rasa's error text.
        h.rasa.on_delivery_error = lambda sender: record_failed_delivery(
            h.settings, "whatsapp", sender, "Bist du noch da?", "whatsapp_24h_window"
        )
        response = await post_json(client, f"/inbox/api/conversations/{handoff_id}/reply", csrf,
                                   {"text": "Bist du noch da?"})
        assert response.status == 502
        assert "24-Stunden-Fensters" in (await response.json())["error"]
        view = await (await client.get(f"/inbox/api/conversations/{handoff_id}")).json()
        assert "Bist du noch da?" in view["html"]
        assert "Nicht zugestellt" in view["html"] and "24-Stunden-Fensters" in view["html"]
        assert get_handoff(h.store, handoff_id).first_reply_at is None
    finally:
        await h.close()


@run_async
async def test_web_chat_customer_receives_the_agent_reply_live(tmp_path: Path) -> None:
    """The REST channel cannot push: the web chat page listens on /chat/api/events."""
    import asyncio
    import json

    from bot.inbox._webchat import COOKIE, sender_from_cookie

    h = await start_harness(tmp_path)
    try:
        add_agent(h.store, "anna")
        customer = await h.client()
        assert (await customer.get("/chat")).status == 200
        # the page's HttpOnly cookie names this browser's conversation
        cookie = customer.session.cookie_jar.filter_cookies(customer.make_url("/chat"))[COOKIE]
        sender = sender_from_cookie(h.inbox.secret, cookie.value)
        assert sender is not None
        handoff_id = escalate(h.rasa, h.store, sender, channel="rest")
        await h.consume()
        stream = await customer.get("/chat/api/events")
        assert stream.status == 200
        agent = await h.client()
        csrf = await login(agent, "anna")
        await post_json(agent, f"/inbox/api/conversations/{handoff_id}/claim", csrf)
        await post_json(agent, f"/inbox/api/conversations/{handoff_id}/reply", csrf,
                        {"text": "Hallo aus dem Team!"})
        await h.consume()
        seen = b""
        while b"event: message" not in seen:
            seen += await asyncio.wait_for(stream.content.readuntil(b"\n\n"), 5)
        payload = json.loads(seen.split(b"data: ", 1)[1].split(b"\n", 1)[0])
        # the customer sees who answers: the agent's first name
        assert payload == {"text": "Hallo aus dem Team!", "buttons": [], "agent": "Anna (Team)"}
        stream.close()
    finally:
        await h.close()


@run_async
async def test_customer_photo_is_fetched_from_telegram_for_agents_only(tmp_path: Path) -> None:
    from aiohttp import web
    from aiohttp.test_utils import TestServer

    token = "123:secret-bot-token"
    jpeg = b"\xff\xd8\xff\xe0" + b"0" * 2000
    fake = web.Application()

    async def get_file(request: web.Request) -> web.Response:
        assert request.match_info["token"] == token
        return web.json_response({"ok": True, "result": {
            "file_id": request.query["file_id"], "file_path": "photos/file_1.jpg"}})

    async def download(request: web.Request) -> web.Response:
        assert request.match_info["token"] == token
        return web.Response(body=jpeg, content_type="image/jpeg")

    fake.router.add_get("/bot{token}/getFile", get_file)
    fake.router.add_get("/file/bot{token}/photos/file_1.jpg", download)
    telegram = TestServer(fake, host="127.0.0.1")
    await telegram.start_server()
    h = await start_harness(tmp_path, TELEGRAM_TOKEN=token, TELEGRAM_SECRET_TOKEN="s" * 20,
                            TELEGRAM_API_BASE_URL=str(telegram.make_url("")).rstrip("/"))
    try:
        add_agent(h.store, "anna")
        escalate(h.rasa, h.store, "4711")
        customer_says(h.rasa, "4711", "Foto vom Paket",
                      {"media": [{"kind": "photo", "reference": "AgACfile",
                                  "content_type": "image/jpeg"}]})
        # what the Telegram channel stores when the photo arrives (the only source of references)
        record_media(h.settings, "telegram", "4711", "AgACfile")
        await h.consume()
        anonymous = await h.client()
        url = "/inbox/api/media?sender=4711&ref=AgACfile"
        assert (await anonymous.get(url)).status == 401
        client = await h.client()
        await login(client, "anna")
        photo = await client.get(url)
        assert photo.status == 200 and photo.content_type == "image/jpeg"
        assert await photo.read() == jpeg
        assert token not in str(photo.url)
        # references nobody sent in this conversation are not fetched (no open proxy)
        assert (await client.get("/inbox/api/media?sender=4711&ref=other")).status == 404
    finally:
        await h.close()
        await telegram.close()
