"""Real Rasa + action server processes for end-to-end tests (loopback, free ports, temp dirs).

The test model is trained once from the real training data and the shipped config.yml with
fewer epochs (:data:`TEST_EPOCHS`), cached under ``var/test-models`` by the fingerprint of its
inputs, so only the first run after a data change pays for training.
"""

from __future__ import annotations

import fcntl
import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Tuple

import yaml

from bot.launcher import (
    REST_CHANNEL,
    HealthCheck,
    actions_command,
    actions_health_url,
    is_healthy,
    rasa_command,
    rasa_health_url,
    write_endpoints,
)
from bot.settings import PROJECT_ROOT, Settings, load_settings
from bot.spacy_model import config_uses_spacy, ensure_spacy_model
from bot.training import inputs_fingerprint, train

TEST_MODEL_DIR = PROJECT_ROOT / "var" / "test-models"
TEST_EPOCHS = 40


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def ensure_test_model() -> Path:
    """The fast test model for the current training data (trained if missing or stale)."""
    TEST_MODEL_DIR.mkdir(parents=True, exist_ok=True)
    # Several test processes (e.g. pytest-xdist or parallel runs) may ask at once: one trains.
    with (TEST_MODEL_DIR / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return _train_test_model()


def _train_test_model() -> Path:
    """The shipped config.yml as it is (it trains in well under a minute); a config with
    TensorFlow components would get its epochs capped at :data:`TEST_EPOCHS`."""
    if config_uses_spacy(PROJECT_ROOT / "config.yml"):
        ensure_spacy_model(PROJECT_ROOT / "var" / "spacy_de")
    config = yaml.safe_load((PROJECT_ROOT / "config.yml").read_text(encoding="utf-8"))
    for component in config["pipeline"]:
        if "epochs" in component:
            component["epochs"] = min(int(component["epochs"]), TEST_EPOCHS)
    fast_config = TEST_MODEL_DIR / "config-fast.yml"
    fast_config.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    # Named by its inputs: worktrees/branches with other configs share var/test-models
    # without retraining over each other's model.
    name = "test-" + inputs_fingerprint(PROJECT_ROOT, str(fast_config), ("data",))[:12]
    result = train(PROJECT_ROOT, TEST_MODEL_DIR, config=str(fast_config), name=name)
    return result.model


@dataclass
class Stack:
    """A running Rasa server and action server with their own databases."""

    settings: Settings
    env: Dict[str, str]
    processes: List["subprocess.Popen[bytes]"] = field(default_factory=list)
    logs: List[Path] = field(default_factory=list)

    @property
    def rasa_url(self) -> str:
        return self.settings.rasa_url

    @property
    def token(self) -> str:
        return self.settings.rasa_token

    def send(self, sender: str, text: str) -> List[Dict[str, Any]]:
        """A customer message through the REST channel; returns the bot's answers."""
        request = urllib.request.Request(
            f"{self.rasa_url}/webhooks/rest/webhook",
            data=json.dumps({"sender": sender, "message": text}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            answers: List[Dict[str, Any]] = json.loads(response.read())
        return answers

    def tracker(self, sender: str) -> Dict[str, Any]:
        url = f"{self.rasa_url}/conversations/{sender}/tracker?token={self.token}"
        with urllib.request.urlopen(url, timeout=30) as response:
            tracker: Dict[str, Any] = json.loads(response.read())
        return tracker

    def log_tail(self, lines: int = 40) -> str:
        tails = []
        for log in self.logs:
            if log.is_file():
                content = log.read_text(errors="replace").splitlines()[-lines:]
                tails.append(f"--- {log.name}\n" + "\n".join(content))
        return "\n".join(tails)

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


def start_stack(
    var_dir: Path,
    model: Path,
    *,
    extra_env: Optional[Mapping[str, str]] = None,
    credentials: Optional[Mapping[str, Any]] = None,
    timeout: float = 240.0,
) -> Stack:
    """Start an action server and a Rasa server (REST + API, plus ``credentials``)."""
    from bot.database import make_engine
    from bot.models import SupportBase
    from bot.seed import seed_shop

    var_dir.mkdir(parents=True, exist_ok=True)
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(
            ("TELEGRAM_", "TWILIO_", "RASA_", "BOT_", "PUBLIC_BASE_URL", "ACTION_SERVER_")
        )
    }
    env.update(
        {
            "BOT_VAR_DIR": str(var_dir),
            "RASA_TOKEN": secrets.token_urlsafe(16),
            "ACTION_SERVER_TOKEN": secrets.token_urlsafe(32),
            "RASA_PORT": str(free_port()),
            "ACTION_PORT": str(free_port()),
            "INBOX_PORT": str(free_port()),
            "PYTHONPATH": str(PROJECT_ROOT),
            "SANIC_HOST": "127.0.0.1",
            "TF_CPP_MIN_LOG_LEVEL": "2",
            "RASA_TELEMETRY_ENABLED": "false",
            "SANIC_WORKERS": "1",
        }
    )
    env.update(extra_env or {})
    settings = load_settings(env)
    SupportBase.metadata.create_all(make_engine(settings.support_db_url))
    seed_shop(make_engine(settings.shop_db_url))
    endpoints = write_endpoints(settings, var_dir / "endpoints.yml")
    credentials_file = var_dir / "credentials.yml"
    credentials_file.write_text(
        yaml.safe_dump({REST_CHANNEL: None, **dict(credentials or {})}, sort_keys=False)
    )
    stack = Stack(settings=settings, env=env)
    action_log = var_dir / "actions.log"
    rasa_log = var_dir / "rasa.log"
    stack.logs = [action_log, rasa_log]
    python = sys.executable
    commands: List[Tuple[List[str], Path, HealthCheck]] = [
        (actions_command(settings, python), action_log, actions_health_url(settings)),
        (
            rasa_command(settings, model, endpoints, credentials_file, python),
            rasa_log,
            rasa_health_url(settings),
        ),
    ]
    try:
        for command, log, _ in commands:
            handle = log.open("wb")
            stack.processes.append(
                subprocess.Popen(
                    command, cwd=PROJECT_ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT
                )
            )
        deadline = time.monotonic() + timeout
        for (_, _, health), process in zip(commands, stack.processes, strict=True):
            while not is_healthy(health):
                if process.poll() is not None:
                    raise RuntimeError(f"a server died during start-up:\n{stack.log_tail()}")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"servers not ready in {timeout:.0f} s:\n{stack.log_tail()}")
                time.sleep(0.5)
    except BaseException:
        stack.stop()
        raise
    return stack
