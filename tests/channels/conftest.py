"""Fixtures: a real Rasa stack with both messenger channels and the fake provider APIs."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

from tests.channels.harness import ChannelStack, start_channel_stack


@pytest.fixture(scope="session")
def channel_stack(
    test_model: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ChannelStack]:
    """Rasa + action server with both messenger channels (webhook mode) and the fake APIs."""
    running = start_channel_stack(tmp_path_factory.mktemp("channels"), test_model)
    yield running
    running.stop()
