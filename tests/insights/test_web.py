"""The inbox's "Trends" page: trainers and admins only, the report's sections, customer text
escaped."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from bot.insights._models import SignalCount, SignalSample
from bot.insights._signals import hour_of
from tests.inbox._support import add_agent, login, run_async, start_harness


@run_async
async def test_trends_page_for_trainers_with_escaped_customer_text(tmp_path: Path) -> None:
    h = await start_harness(tmp_path)
    try:
        add_agent(h.store, "anna")
        add_agent(h.store, "tom", role="trainer")
        add_agent(h.store, "ada", admin=True)
        hour = hour_of(h.clock()) - timedelta(hours=5)

        def seed(session: Any) -> None:
            for kind, key, count in (("conversation", "", 40), ("message", "", 55),
                                     ("topic", "damaged_parcel", 12), ("handoff", "complaint", 4),
                                     ("unanswered", "", 2), ("rating", "4", 3)):
                session.add(SignalCount(hour=hour, kind=kind, key=key, count=count))
            for words in ("<script>alert(1)</script> habt ihr drohnen", "habt ihr drohnen?"):
                session.add(SignalSample(hour=hour, kind="unanswered", key="", text=words))

        h.store.call(seed)
        anna = await h.client()
        await login(anna, "anna")
        assert 'href="/inbox/trends"' not in await (await anna.get("/inbox")).text()
        refused = await anna.get("/inbox/trends")
        assert refused.status == 403
        assert "nur für Trainer und Admins" in await refused.text()
        for name in ("tom", "ada"):
            client = await h.client()
            await login(client, name)
            assert 'href="/inbox/trends"' in await (await client.get("/inbox")).text()
            page = await client.get("/inbox/trends?tage=30")
            assert page.status == 200
            html = await page.text()
            assert "<script>alert(1)</script>" not in html
            assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
            assert 'data-kind="conversation">40<' in html
            assert 'data-reason="complaint">4<' in html
            assert "Beschädigte Pakete" in html and "90,0 %" in html  # 1 - 4/40
            assert html.count("data:image/png;base64,") == 2
    finally:
        await h.close()
