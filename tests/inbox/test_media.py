"""The inbox's media proxy (bot/inbox/_media.py): only channel-stored references, only from
the provider's API, credentials never to anyone else (the attack: a REST caller planted a media
URL in event metadata and /inbox/api/media sent the Twilio SID and auth token to it)."""

from __future__ import annotations

from pathlib import Path
from typing import List, Tuple

from aiohttp import web
from aiohttp.test_utils import TestServer

from bot.settings import WhatsAppSettings
from channels._media import twilio_media_url
from tests.inbox._support import (
    add_agent,
    customer_says,
    escalate,
    login,
    record_media,
    run_async,
    start_harness,
)

SID = "AC" + "1" * 32
TOKEN = "twilio-auth-token-secret"
MEDIA_PATH = f"/2010-04-01/Accounts/{SID}/Messages/MM1/Media/ME1"


async def recording_server(seen: List[Tuple[str, str]]) -> TestServer:
    """A server that records every request and its Authorization header."""
    app = web.Application()

    async def anything(request: web.Request) -> web.Response:
        seen.append((request.path, request.headers.get("Authorization", "")))
        return web.Response(body=b"\xff\xd8\xff\xe0jpeg", content_type="image/jpeg")

    app.router.add_route("*", "/{tail:.*}", anything)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    return server


@run_async
async def test_metadata_media_url_never_gets_the_twilio_credentials(tmp_path: Path) -> None:
    stolen: List[Tuple[str, str]] = []
    attacker = await recording_server(stolen)
    twilio_seen: List[Tuple[str, str]] = []
    twilio = await recording_server(twilio_seen)
    h = await start_harness(
        tmp_path, TWILIO_ACCOUNT_SID=SID, TWILIO_AUTH_TOKEN=TOKEN,
        TWILIO_WHATSAPP_FROM="whatsapp:+4915100000000",
        TWILIO_API_BASE_URL=str(twilio.make_url("")).rstrip("/"),
    )
    try:
        add_agent(h.store, "anna")
        sender = "whatsapp:+4917000000001"
        escalate(h.rasa, h.store, sender, channel="whatsapp")
        evil = str(attacker.make_url("/steal"))
        customer_says(h.rasa, sender, "Foto", {"media": [{"kind": "photo", "reference": evil}]})
        await h.consume()
        client = await h.client()
        await login(client, "anna")
        response = await client.get("/inbox/api/media", params={"sender": sender, "ref": evil})
        assert response.status == 404
        # even a stored reference is only fetched from Twilio's API, never from another host
        record_media(h.settings, "whatsapp", sender, evil)
        response = await client.get("/inbox/api/media", params={"sender": sender, "ref": evil})
        assert response.status == 404
        assert stolen == []
        # a real Twilio media reference the channel stored is fetched, with the credentials,
        # from the configured Twilio API only
        real = "https://api.twilio.com" + MEDIA_PATH
        record_media(h.settings, "whatsapp", sender, real)
        response = await client.get("/inbox/api/media", params={"sender": sender, "ref": real})
        assert response.status == 200 and response.content_type == "image/jpeg"
        assert [path for path, _ in twilio_seen] == [MEDIA_PATH]
        assert twilio_seen[0][1].startswith("Basic ")
        assert TOKEN not in await response.text(errors="replace")
    finally:
        await h.close()
        await attacker.close()
        await twilio.close()


def test_only_our_account_on_twilio_api_is_a_media_address() -> None:
    settings = WhatsAppSettings(SID, TOKEN, "whatsapp:+1", "", "")
    ok = "https://api.twilio.com" + MEDIA_PATH
    assert twilio_media_url(ok, settings) == ok
    for bad in (
        "http://api.twilio.com" + MEDIA_PATH,
        "https://api.twilio.com.evil.test" + MEDIA_PATH,
        "https://evil.test@api.twilio.com" + MEDIA_PATH,
        "https://api.twilio.com:8443" + MEDIA_PATH,
        "https://api.twilio.com/2010-04-01/Accounts/ACother/Messages/MM1/Media/ME1",
        f"https://api.twilio.com/2010-04-01/Accounts/{SID}/../../x",
        "https://evil.test/" + MEDIA_PATH,
        "file:///etc/passwd",
        "",
    ):
        assert twilio_media_url(bad, settings) is None, bad


@run_async
async def test_meta_media_is_fetched_only_from_meta_and_without_the_page_token(
    tmp_path: Path,
) -> None:
    cdn_seen: List[Tuple[str, str]] = []
    cdn = await recording_server(cdn_seen)  # stands in for Meta (the configured API origin)
    stolen: List[Tuple[str, str]] = []
    attacker = await recording_server(stolen)
    h = await start_harness(
        tmp_path, META_PAGE_ACCESS_TOKEN="EAAG-page-token", META_APP_SECRET="app-secret",
        META_VERIFY_TOKEN="verify", META_API_BASE_URL=str(cdn.make_url("/v19.0")),
    )
    try:
        add_agent(h.store, "anna")
        sender = "fb:1234567890"
        escalate(h.rasa, h.store, sender, channel="meta")
        client = await h.client()
        await login(client, "anna")
        photo = str(cdn.make_url("/media/schaden.jpg"))
        record_media(h.settings, "meta", sender, photo)
        response = await client.get("/inbox/api/media", params={"sender": sender, "ref": photo})
        assert response.status == 200 and response.content_type == "image/jpeg"
        assert cdn_seen == [("/media/schaden.jpg", "")]  # no page token to the CDN
        evil = str(attacker.make_url("/steal"))
        record_media(h.settings, "meta", sender, evil)
        response = await client.get("/inbox/api/media", params={"sender": sender, "ref": evil})
        assert response.status == 404 and stolen == []
    finally:
        await h.close()
        await attacker.close()
        await cdn.close()
