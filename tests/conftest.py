"""Shared fixtures: the fast test model and a running Rasa stack."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

from tests._stack import Stack, ensure_test_model, start_stack


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
