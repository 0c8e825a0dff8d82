"""The inbox's Rasa client authenticates with a signed header, never with the token in the
URL (bot/inbox/_rasa.py, bot/rasa_auth.py)."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest

from bot.inbox._rasa import RasaClient, RasaRequestError
from tests.inbox._support import BrokerTable, FakeRasa, run_async, start_fake_rasa


@run_async
async def test_the_token_travels_in_a_header_not_in_the_url(tmp_path: Path) -> None:
    rasa = FakeRasa(token="geheimes-rasa-token", broker=BrokerTable(
        f"sqlite:///{tmp_path / 'events.db'}"))
    server = await start_fake_rasa(rasa)
    try:
        async with aiohttp.ClientSession() as session:
            base = f"http://127.0.0.1:{server.port}"
            client = RasaClient(base, "geheimes-rasa-token", session)
            tracker = await client.tracker("tg-1")
            assert tracker["sender_id"] == "tg-1"
            await client.append_events("tg-1", [{"event": "bot", "text": "Hallo"}])
            assert len(rasa.urls) == 2
            assert not any("geheimes-rasa-token" in url or "token=" in url for url in rasa.urls)
            wrong = RasaClient(base, "ein-anderes-token", session)
            with pytest.raises(RasaRequestError) as refused:
                await wrong.tracker("tg-1")
            assert refused.value.status == 401
    finally:
        await server.close()
