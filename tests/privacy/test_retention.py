"""Retention: conversations idle longer than RETENTION_DAYS go from every store; recent stay."""

from __future__ import annotations

import asyncio
from pathlib import Path

from bot.privacy._retention import last_activity, purge, run_retention
from bot.privacy._stores import collect
from tests.privacy._plant import Customer, days_ago, plant, settings_for, stores
from tests.privacy.test_stores import JANA, TOM, everything


def test_purge_deletes_idle_conversations_and_keeps_recent_ones(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    plant(settings, JANA, when=days_ago(200))
    plant(settings, TOM, when=days_ago(10))
    activity = last_activity(stores(settings))
    assert activity[JANA.sender_id] < days_ago(199)
    assert activity[TOM.sender_id] > days_ago(11)
    tom_before = collect(stores(settings), TOM.sender_id).counts()

    dry = purge(stores(settings), 180, dry_run=True)
    assert dry.senders == [JANA.sender_id]
    assert collect(stores(settings), JANA.sender_id).found  # a dry run deletes nothing

    result = purge(stores(settings), 180)
    assert result.senders == [JANA.sender_id]
    assert result.counts == dry.counts
    after = everything(tmp_path)
    for trace in [JANA.sender_id, JANA.note, JANA.reply, *JANA.texts]:
        assert trace not in after
    assert not collect(stores(settings), JANA.sender_id).found
    assert collect(stores(settings), TOM.sender_id).counts() == tom_before
    assert purge(stores(settings), 180).senders == []


def test_recent_activity_in_any_store_keeps_the_conversation(tmp_path: Path) -> None:
    """Old chat in Rasa, but the customer wrote on WhatsApp yesterday (support DB): kept."""
    settings = settings_for(tmp_path)
    plant(settings, JANA, when=days_ago(300))
    from channels._store import ChannelStore

    ChannelStore.from_url(settings.support_db_url).touch_contact(
        "whatsapp", JANA.sender_id, now=days_ago(1)
    )
    assert purge(stores(settings), 180).senders == []


def test_inbox_worker_purges_off_the_event_loop(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    plant(settings, Customer(JANA.sender_id, JANA.phone, JANA.texts, "n", "r"),
          when=days_ago(400))

    async def run() -> None:
        task = asyncio.create_task(
            run_retention(stores(settings), 180, interval=3600, first_delay=0)
        )
        for _ in range(600):  # bounded: at most 60 s
            await asyncio.sleep(0.1)
            if not await asyncio.to_thread(
                lambda: collect(stores(settings), JANA.sender_id).found
            ):
                break
        task.cancel()

    asyncio.run(run())
    assert not collect(stores(settings), JANA.sender_id).found


def test_retention_setting_defaults_to_180_days_and_refuses_negative() -> None:
    import pytest

    from bot.errors import ConfigurationError
    from bot.settings import load_settings

    assert load_settings({}).retention_days == 180
    assert load_settings({"RETENTION_DAYS": "0"}).retention_days == 0
    with pytest.raises(ConfigurationError):
        load_settings({"RETENTION_DAYS": "-5"})
