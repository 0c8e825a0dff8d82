"""One scaled topology for all tests in tests/scaled: real PostgreSQL, Redis, RabbitMQ and
haproxy on loopback (installed from Debian packages when missing; a server that cannot be
installed or started fails the tests with the reason), 2 Rasa servers, 1 action server and 2
inbox processes. Shared by the session to keep the run short on a 2-core machine."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Dict, Iterator

import pytest

from bot.scaled._services import ensure_packages, free_port
from bot.scaled._topology import Infrastructure, ScaledStack, start_scaled
from bot.settings import PROJECT_ROOT


def scaled_env() -> Dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("TELEGRAM_", "TWILIO_", "RASA_", "BOT_", "PUBLIC_BASE_URL",
                               "ACTION_SERVER_", "SUPPORT_DB", "SHOP_DB", "TRACKER_DB",
                               "EVENT_BROKER", "LOCK_STORE", "LIVE_UPDATES"))
    }
    env.update({
        "RASA_TOKEN": secrets.token_urlsafe(16),
        "ACTION_SERVER_TOKEN": secrets.token_urlsafe(32),
        "INBOX_SECRET_KEY": secrets.token_urlsafe(32),
        "RASA_PORT": str(free_port()),
        "ACTION_PORT": str(free_port()),
        "INBOX_PORT": str(free_port()),
        "PYTHONPATH": str(PROJECT_ROOT),
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "RASA_TELEMETRY_ENABLED": "false",
        "SANIC_WORKERS": "1",
        "RETENTION_DAYS": "0",
    })
    return env


@pytest.fixture(scope="session")
def infrastructure(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Infrastructure]:
    ensure_packages()  # raises (test error with the reason) when they cannot be installed
    servers = Infrastructure.start(tmp_path_factory.mktemp("servers"))
    yield servers
    servers.stop()


@pytest.fixture(scope="session")
def scaled(test_model: Path, infrastructure: Infrastructure,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[ScaledStack]:
    running = start_scaled(tmp_path_factory.mktemp("scaled"), test_model, infrastructure,
                           rasa=2, actions=1, inbox=2, base_env=scaled_env())
    yield running
    running.stop()
