"""Fixture: the real inbox / web chat server as its own process, on the shared messenger stack
(``channel_stack`` of tests/conftest.py: real Rasa, action server, fake providers)."""

from __future__ import annotations

import secrets
import subprocess
import sys
import time
from typing import Iterator

import pytest

from bot.launcher import is_healthy
from bot.settings import PROJECT_ROOT
from tests.channels.harness import ChannelStack


@pytest.fixture(scope="module")
def inbox_url(channel_stack: ChannelStack) -> Iterator[str]:
    """``python -m bot inbox`` on the stack's databases and Rasa (loopback, own port)."""
    stack = channel_stack.stack
    env = dict(stack.env, INBOX_SECRET_KEY=secrets.token_urlsafe(32))
    url = stack.settings.inbox_url
    log = stack.settings.var_dir / "inbox.log"
    with log.open("ab") as handle:
        process = subprocess.Popen(
            [sys.executable, "-m", "bot", "inbox"],
            cwd=PROJECT_ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while not is_healthy(f"{url}/chat"):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"inbox did not start:\n{log.read_text(errors='replace')}")
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


__all__ = ["inbox_url"]
