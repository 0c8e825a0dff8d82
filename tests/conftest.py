"""Shared fixtures: the fast test model, a running Rasa stack, and the messenger stack."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

from tests._postgres import databases, postgres, postgres_url  # noqa: F401 - fixtures
from tests._stack import Stack, ensure_test_model, start_stack
from tests.channels.harness import ChannelStack, start_channel_stack


@pytest.fixture(scope="session")
def test_model() -> Path:
    """The real training data, trained with the fast test config (cached by fingerprint)."""
    return ensure_test_model()


@pytest.fixture(scope="session")
def stack(test_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Rasa server + action server with REST channel and HTTP API, fresh databases."""
    running = start_stack(tmp_path_factory.mktemp("stack"), test_model)
    yield running
    running.stop()


@pytest.fixture(scope="session")
def channel_stack(
    test_model: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ChannelStack]:
    """Rasa + action server with both messenger channels (webhook mode) and the fake APIs.

    One per test session, shared by tests/channels, tests/reliability and tests/security.
    """
    running = start_channel_stack(tmp_path_factory.mktemp("channels"), test_model)
    yield running
    running.stop()
