"""channels/_inbound.py on the messengers: never silence when the action server is gone, but a
paused conversation (an agent has it) stays quiet. A channel stack of its own: its action
server is killed and started again."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path
from typing import Iterator

import pytest

from bot.launcher import actions_command, actions_health_url, is_healthy
from bot.settings import PROJECT_ROOT
from channels._texts import STILL_THERE
from tests.channels.harness import (
    ChannelStack,
    new_chat_id,
    new_whatsapp_number,
    start_channel_stack,
)

pytestmark = pytest.mark.slow

HANDOFF = "an mein Team weiter"
ASK_FOR_PERSON = "Ich möchte bitte mit einem Mitarbeiter sprechen"


@pytest.fixture(scope="module")
def fragile(test_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChannelStack]:
    running = start_channel_stack(tmp_path_factory.mktemp("fragile"), test_model)
    yield running
    running.stop()


def set_action_server(channels: ChannelStack, up: bool) -> None:
    stack = channels.stack
    if not up:
        stack.processes[0].kill()
        stack.processes[0].wait(timeout=20)
        return
    log = (stack.settings.var_dir / "actions-restart.log").open("ab")
    stack.processes[0] = subprocess.Popen(
        actions_command(stack.settings, str(stack.processes[0].args[0])),  # type: ignore[index]
        env=stack.env, stdout=log, stderr=subprocess.STDOUT, cwd=PROJECT_ROOT,
    )
    deadline = time.monotonic() + 120
    while not is_healthy(actions_health_url(stack.settings)):
        assert stack.processes[0].poll() is None, stack.log_tail()
        assert time.monotonic() < deadline, "action server did not come back"
        time.sleep(0.5)


def test_messenger_customers_get_a_holding_message_not_silence(fragile: ChannelStack) -> None:
    chat, number = new_chat_id(), new_whatsapp_number()
    # a conversation an agent has: paused before the action server goes
    paused = new_chat_id()
    fragile.post_telegram(fragile.telegram.text_update(paused, ASK_FOR_PERSON))
    fragile.telegram.wait_for(
        "sendMessage", lambda c: str(c.params.get("chat_id")) == str(paused)
        and HANDOFF in str(c.params.get("text"))
    )
    set_action_server(fragile, up=False)
    try:
        fragile.post_telegram(fragile.telegram.text_update(chat, ASK_FOR_PERSON))
        [answer] = fragile.telegram.wait_for(
            "sendMessage", lambda c: str(c.params.get("chat_id")) == str(chat)
        )
        assert answer.params["text"] == STILL_THERE
        keyboard = answer.params["reply_markup"]["inline_keyboard"]
        assert keyboard[0][0]["text"] == "Mit einem Menschen sprechen"

        fragile.post_whatsapp(fragile.whatsapp_message(number, ASK_FOR_PERSON))
        [reply] = fragile.twilio.wait_for_messages(lambda c: c.params.get("To") == number)
        assert reply.params["Body"].startswith(STILL_THERE)
        assert "Mit einem Menschen sprechen" in reply.params["Body"]  # as a numbered option

        # the paused conversation stays quiet, also now
        fragile.post_telegram(fragile.telegram.text_update(paused, "Hallo? Ist da wer?"))
        time.sleep(3)
        to_paused = fragile.telegram.calls_of(
            "sendMessage", lambda c: str(c.params.get("chat_id")) == str(paused)
        )
        assert len(to_paused) == 1
    finally:
        set_action_server(fragile, up=True)
    # back to normal: the offered button hands over
    fragile.post_telegram(
        fragile.telegram.callback_update(chat, keyboard[0][0]["callback_data"])
    )
    answers = fragile.telegram.wait_for(
        "sendMessage", lambda c: str(c.params.get("chat_id")) == str(chat), count=2
    )
    assert HANDOFF in answers[-1].params["text"]
