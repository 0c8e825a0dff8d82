"""What `make run` / `python -m bot run` do before starting anything, and how they fail."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import yaml

from bot.launcher import (
    child_environment,
    ensure_secret_in_dotenv,
    write_credentials,
    write_endpoints,
)
from bot.settings import PROJECT_ROOT, load_settings


def run_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=120,
    )


def clean_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "TWILIO_"))}
    env.update(
        BOT_VAR_DIR=str(tmp_path), RASA_TOKEN="t" * 20, INBOX_SECRET_KEY="s" * 20,
        ACTION_SERVER_TOKEN="a" * 20, **extra,
    )
    return env


def test_port_in_use_is_one_clear_sentence(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = run_cli("run", env=clean_env(tmp_path, RASA_PORT=str(port)))
    assert result.returncode == 2
    assert f"port {port} on 127.0.0.1 is already in use" in result.stderr
    assert "RASA_PORT" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_half_configured_channel_is_one_clear_sentence(tmp_path: Path) -> None:
    result = run_cli("run", env=clean_env(tmp_path, TELEGRAM_TOKEN="123:abc"))
    assert result.returncode == 2
    assert "Telegram is half configured: set TELEGRAM_SECRET_TOKEN" in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_python_310_is_explained() -> None:
    result = subprocess.run(
        ["bash", str(PROJECT_ROOT / "scripts" / "find-python310")],
        env=dict(os.environ, PYTHON310="/bin/true"), capture_output=True, text=True,
    )
    assert result.returncode == 1
    assert "is not a Python 3.10 interpreter" in result.stderr


def test_secrets_are_generated_once_into_dotenv(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("OTHER=1")
    os.environ.pop("SOME_TEST_SECRET", None)
    value = ensure_secret_in_dotenv(env_file, "SOME_TEST_SECRET")
    assert value and len(value) >= 32
    assert env_file.read_text() == f"OTHER=1\nSOME_TEST_SECRET={value}\n"
    assert ensure_secret_in_dotenv(env_file, "SOME_TEST_SECRET") is None
    assert oct(env_file.stat().st_mode & 0o777) == "0o600"


def test_embedded_endpoints_and_credentials(tmp_path: Path) -> None:
    settings = load_settings({"BOT_VAR_DIR": str(tmp_path)})
    endpoints = yaml.safe_load(write_endpoints(settings, tmp_path / "e.yml").read_text())
    assert endpoints["action_endpoint"]["url"] == "http://127.0.0.1:5055/webhook"
    # Rasa expands the token from its environment: the secret is in no written file.
    assert endpoints["action_endpoint"]["headers"] == {
        "Authorization": "Bearer ${ACTION_SERVER_TOKEN}"
    }
    assert endpoints["tracker_store"] == {
        "type": "SQL", "dialect": "sqlite", "db": str(tmp_path / "tracker.db")
    }
    assert endpoints["event_broker"]["db"] == str(tmp_path / "events.db")
    assert "lock_store" not in endpoints
    credentials = yaml.safe_load(write_credentials(settings, tmp_path / "c.yml").read_text())
    # the project's REST channel replaces Rasa's stock `rest` (same URL, caller fields ignored)
    assert credentials == {"channels.rest.RestInput": None}
    # Sanic buffers bodies before Rasa's token check: capped well below Sanic's 100 MB
    assert child_environment(settings)["SANIC_REQUEST_MAX_SIZE"] == str(16 * 1024 * 1024)


def test_scaled_out_endpoints(tmp_path: Path) -> None:
    settings = load_settings(
        {
            "BOT_VAR_DIR": str(tmp_path),
            "TRACKER_DB_URL": "postgresql://bot:pw@127.0.0.1:5433/tracker",
            "LOCK_STORE_REDIS_URL": "redis://127.0.0.1:6380/2",
            "TELEGRAM_TOKEN": "1:a", "TELEGRAM_SECRET_TOKEN": "s",
        }
    )
    endpoints = yaml.safe_load(write_endpoints(settings, tmp_path / "e.yml").read_text())
    assert endpoints["tracker_store"] == {
        "type": "SQL", "dialect": "postgresql", "db": "tracker", "url": "127.0.0.1",
        "port": 5433, "username": "bot", "password": "pw",
    }
    assert endpoints["lock_store"] == {
        "type": "bot.scaled.lock_store.AtomicRedisLockStore", "url": "127.0.0.1", "port": 6380,
        "db": 2,
    }
    credentials = yaml.safe_load(write_credentials(settings, tmp_path / "c.yml").read_text())
    assert "channels.telegram.TelegramInput" in credentials


def test_endpoints_serve_faq_answers_through_the_live_answer_generator(tmp_path: Path) -> None:
    from rasa.core.nlg import TemplatedNaturalLanguageGenerator
    from rasa.shared.utils.common import class_from_module_path

    settings = load_settings({"BOT_VAR_DIR": str(tmp_path)})
    endpoints = yaml.safe_load(write_endpoints(settings, tmp_path / "e.yml").read_text())
    generator = class_from_module_path(endpoints["nlg"]["type"])
    # A subclass: Rasa hands it the domain of every model it loads (agent.load_model).
    assert issubclass(generator, TemplatedNaturalLanguageGenerator)
    embedded = yaml.safe_load((PROJECT_ROOT / "endpoints.yml").read_text(encoding="utf-8"))
    assert embedded["nlg"] == endpoints["nlg"]
def test_a_token_starting_with_a_dash_reaches_rasa(tmp_path: Path) -> None:
    """token_urlsafe() starts with '-' one time in 64: `--auth-token -x…` was an argparse error."""
    from rasa.__main__ import create_argument_parser

    from bot.launcher import rasa_command
    from bot.rasa_server import rasa_arguments

    settings = load_settings({"BOT_VAR_DIR": str(tmp_path), "RASA_TOKEN": "-starts-with-dash"})
    command = rasa_command(settings, tmp_path / "m.tar.gz", tmp_path / "e.yml",
                           tmp_path / "c.yml", "python")
    argv = rasa_arguments(command[3:], "-starts-with-dash")
    args = create_argument_parser().parse_args(argv[1:])
    assert args.auth_token == "-starts-with-dash"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def test_sigterm_stops_every_service_and_frees_the_ports(tmp_path: Path) -> None:
    """Ctrl-C / SIGTERM on `make run`: every service stops, nothing keeps listening."""
    ports = {name: _free_port() for name in ("RASA_PORT", "ACTION_PORT", "INBOX_PORT")}
    env = clean_env(tmp_path, BOT_MODEL_DIR=str(tmp_path / "models"),
                    **{name: str(port) for name, port in ports.items()})
    log = tmp_path / "run.log"
    with log.open("w") as output:
        launcher = subprocess.Popen([sys.executable, "-m", "bot", "run"], cwd=PROJECT_ROOT,
                                    env=env, stdout=output, stderr=subprocess.STDOUT, text=True)
        try:
            deadline = time.monotonic() + 300  # trains the model once, then starts
            while "ist bereit" not in log.read_text() and launcher.poll() is None:
                assert time.monotonic() < deadline, log.read_text()[-2000:]
                time.sleep(1)
            assert launcher.poll() is None, log.read_text()[-2000:]
            assert all(_listening(port) for port in ports.values())
            launcher.send_signal(signal.SIGTERM)
            code = launcher.wait(timeout=60)
        finally:
            if launcher.poll() is None:
                launcher.kill()
    printed = log.read_text()
    assert code == 0, printed[-2000:]
    assert "Alle Dienste gestoppt." in printed
    assert not any(_listening(port) for port in ports.values())
