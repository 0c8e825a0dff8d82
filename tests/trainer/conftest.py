"""Fixtures for trainer tests: a throw-away copy of the small fixture bot per test."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.trainer import Project
from tests.trainer._fixture import make_fixture_bot


@pytest.fixture()
def project(tmp_path: Path) -> Project:
    return Project(make_fixture_bot(tmp_path / "bot"))
