"""Without PUBLIC_BASE_URL the Telegram channel long-polls getUpdates (a laptop needs no
public address); updates take the same path as webhook updates."""

from __future__ import annotations

import json
import time
from datetime import datetime
from pathlib import Path
from typing import Iterator

import pytest

from channels._store import ChannelStore
from tests.channels.harness import ChannelStack, new_chat_id, start_channel_stack, wait_until

pytestmark = pytest.mark.slow


CRASHED_CHAT = new_chat_id()
CRASHED_UPDATE = {
    "update_id": 990001,
    "message": {
        "message_id": 1, "date": int(time.time()), "text": "Hallo!",
        "chat": {"id": CRASHED_CHAT, "type": "private"},
        "from": {"id": CRASHED_CHAT, "is_bot": False, "first_name": "Kim"},
    },
}


@pytest.fixture(scope="module")
def polling_stack(
    test_model: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ChannelStack]:
    var_dir = tmp_path_factory.mktemp("polling")
    # As if the server had accepted an update and stopped before answering it.
    store = ChannelStore.from_url(f"sqlite:///{var_dir / 'support.db'}")
    store.ensure_schema()
    store.claim_inbound("telegram", "990001", str(CRASHED_CHAT), json.dumps(CRASHED_UPDATE))
    running = start_channel_stack(
        var_dir,
        test_model,
        public_base_url="",
        credentials={"channels.telegram.TelegramInput": {}},
    )
    yield running
    running.stop()


def test_polled_updates_are_answered_and_acknowledged(polling_stack: ChannelStack) -> None:
    telegram = polling_stack.telegram
    chat = new_chat_id()
    update = telegram.text_update(chat, "Hallo!")
    telegram.queue_update(update)
    [answer] = telegram.wait_for(
        "sendMessage", lambda c: str(c.params.get("chat_id")) == str(chat)
    )
    assert "Paula" in answer.params["text"]
    polls = telegram.wait_for(
        "getUpdates", lambda c: int(c.params.get("offset") or 0) == update["update_id"] + 1
    )
    assert polls[0].params["allowed_updates"] == [
        "message", "edited_message", "callback_query", "my_chat_member"
    ]
    assert int(polls[0].params["timeout"]) > 0  # long polling, not busy polling


def test_an_update_accepted_before_a_crash_is_answered_after_the_restart(
    polling_stack: ChannelStack,
) -> None:
    [answer] = polling_stack.telegram.wait_for(
        "sendMessage", lambda c: str(c.params.get("chat_id")) == str(CRASHED_CHAT)
    )
    assert "Paula" in answer.params["text"]
    wait_until(  # and it is not caught up again at the next start
        lambda: "990001"
        not in [i for i, _ in polling_stack.store.unhandled_since("telegram", datetime(2000, 1, 1))]
    )
