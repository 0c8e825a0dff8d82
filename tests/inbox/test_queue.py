"""The queue puts new waiting handoffs on top of work in progress, filters by channel and
reason, and reports how many wait (the page title counter and the opt-in notification)."""

from __future__ import annotations

import re
from pathlib import Path

from tests.inbox._support import (
    add_agent,
    escalate,
    login,
    post_json,
    run_async,
    start_harness,
)


def order(html: str) -> list[int]:
    return [int(n) for n in re.findall(r'data-handoff="(\d+)"', html)]


@run_async
async def test_new_handoff_is_on_top_of_work_in_progress_and_filters_apply(
    tmp_path: Path
) -> None:
    h = await start_harness(tmp_path)
    try:
        add_agent(h.store, "anna")
        client = await h.client()
        csrf = await login(client, "anna")
        older = [escalate(h.rasa, h.store, f"tg-{n}", f"Frage {n}") for n in range(3)]
        for handoff_id in older:
            response = await post_json(client, f"/inbox/api/conversations/{handoff_id}/claim",
                                       csrf)
            assert response.status == 200
        newest = escalate(h.rasa, h.store, "whatsapp:+4915100000000", "Hallo??",
                          channel="twilio_whatsapp", reason="complaint")
        await h.consume()

        queue = await (await client.get("/inbox/api/queue?who=all")).json()
        assert order(queue["html"])[0] == newest
        assert queue["waiting"] == 1 and queue["newest"] == newest

        only = await (await client.get("/inbox/api/queue?channel=whatsapp")).json()
        assert order(only["html"]) == [newest]
        telegram = await (await client.get("/inbox/api/queue?channel=telegram")).json()
        assert sorted(order(telegram["html"])) == sorted(older)
        complaints = await (await client.get("/inbox/api/queue?reason=complaint")).json()
        assert order(complaints["html"]) == [newest]
        hostile = await (await client.get("/inbox/api/queue?reason=%27--&channel=x")).json()
        assert len(order(hostile["html"])) == 4
    finally:
        await h.close()
