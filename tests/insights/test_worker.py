"""The inbox process runs the insights worker: new conversations in the event broker become
hourly counts, and a spike becomes an alert at the configured webhook, without a request."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

from aiohttp.test_utils import TestServer
from sqlalchemy import func, select

from bot.database import make_engine, session_factory, transaction
from bot.inbox import create_app
from bot.insights._models import SignalCount
from bot.insights._scenario import incident_start, plan
from tests.inbox._support import MovableClock, make_settings, run_async
from tests.insights._history import write_history
from tests.insights.test_alerts import FakeWebhook
from tests.insights.test_detect import END


@run_async
async def test_inbox_runs_the_worker_that_counts_and_alerts(tmp_path: Path) -> None:
    start = incident_start(END)
    with FakeWebhook() as hook:
        settings = make_settings(tmp_path, INSIGHTS_INTERVAL_SECONDS="1",
                                 ALERT_WEBHOOK_URL=f"{hook.url}/hook")
        written = write_history(settings, plan(30, end=END, seed=7),
                                until=start + timedelta(hours=1))
        clock = MovableClock(start + timedelta(minutes=59))
        server = TestServer(create_app(settings, clock=clock), host="127.0.0.1")
        await server.start_server()
        try:
            calls = await asyncio.to_thread(hook.wait_for, "hook", None, 1, 120.0)
        finally:
            await server.close()
    assert "Beschädigte Pakete: " in calls[0].params["text"]
    sessions = session_factory(make_engine(settings.support_db_url))
    with transaction(sessions) as session:
        counted = session.execute(select(func.sum(SignalCount.count)).where(
            SignalCount.kind.in_(("message", "conversation")))).scalar()
    assert written > 0 and counted and counted > 1000
