"""Starts the Rasa server, the action server and the inbox, and stops them together."""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, List, Optional, Union

import yaml

from bot.action_server import ENDPOINT_HEADERS
from bot.errors import ConfigurationError
from bot.privacy._logs import create_private_file, secure_var_dir
from bot.rasa_auth import auth_headers
from bot.settings import PROJECT_ROOT, Settings, read_dotenv
from bot.training import quiet_environment

# A health check: a URL, or a request carrying headers (e.g. Rasa's Authorization).
HealthCheck = Union[str, urllib.request.Request]
REST_CHANNEL = "channels.rest.RestInput"


@dataclass
class Service:
    name: str
    command: List[str]
    health_url: HealthCheck
    env: Dict[str, str]
    process: Optional["subprocess.Popen[bytes]"] = None


def ensure_secret_in_dotenv(env_file: Path, key: str) -> Optional[str]:
    """Generate ``key`` into ``.env`` when neither the environment nor ``.env`` has it."""
    if os.environ.get(key, "").strip() or read_dotenv(env_file).get(key, "").strip():
        return None
    value = secrets.token_urlsafe(32)
    existing = env_file.read_text(encoding="utf-8") if env_file.is_file() else ""
    separator = "" if not existing or existing.endswith("\n") else "\n"
    env_file.write_text(f"{existing}{separator}{key}={value}\n", encoding="utf-8")
    env_file.chmod(0o600)
    return value


def check_port_free(host: str, port: int, variable: str) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            raise ConfigurationError(
                f"port {port} on {host} is already in use (is the bot already running?); "
                f"stop that process or set {variable} to another port"
            ) from None


def _sql_store(url: str) -> Dict[str, object]:
    """Rasa's SQL store settings (dialect, host, port, db, user, password) from a URL."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    dialect = parsed.drivername.split("+")[0]
    store: Dict[str, object] = {"type": "SQL", "dialect": dialect, "db": parsed.database or ""}
    if dialect == "postgresql":
        dialect_with_driver = parsed.drivername
        store["dialect"] = dialect_with_driver
    if parsed.host:
        store["url"] = parsed.host
    if parsed.port:
        store["port"] = parsed.port
    if parsed.username:
        store["username"] = parsed.username
    if parsed.password:
        store["password"] = parsed.password
    return store


def _pika_broker(url: str, queue: str) -> Dict[str, object]:
    """Rasa's Pika event broker (RabbitMQ) from an amqp:// URL: one durable queue."""
    from urllib.parse import unquote, urlparse

    parsed = urlparse(url)
    broker: Dict[str, object] = {
        # Rasa's PikaEventBroker, retrying each event until RabbitMQ confirms it.
        "type": "bot.scaled.pika_broker.ReliablePikaEventBroker",
        "url": parsed.hostname or "127.0.0.1",
        "port": parsed.port or 5672,
        "username": unquote(parsed.username or "guest"),
        "password": unquote(parsed.password or "guest"),
        "queues": [queue],
    }
    return broker


LIVE_ANSWER_GENERATOR = "bot.answers.nlg.LiveAnswerGenerator"
# Rasa's RedisLockStore with atomic ticket changes (several Rasa instances, one Redis).
ATOMIC_REDIS_LOCK_STORE = "bot.scaled.lock_store.AtomicRedisLockStore"


def write_endpoints(settings: Settings, path: Path) -> Path:
    """endpoints.yml for this run: action server, tracker store, SQL event broker and the
    response generator with live FAQ answers."""
    tracker = _sql_store(settings.tracker_db_url)
    if settings.event_broker_amqp_url:
        broker = _pika_broker(settings.event_broker_amqp_url, settings.event_broker_queue)
    else:
        broker = _sql_store(settings.event_broker_url)
    endpoints: Dict[str, object] = {
        # The token is expanded by Rasa from its environment: no secret in this file.
        "action_endpoint": {"url": settings.action_url, "headers": dict(ENDPOINT_HEADERS)},
        "tracker_store": tracker,
        "event_broker": broker,
    }
    # FAQ answers edited live (bot.answers) on top of the model's domain responses.
    endpoints["nlg"] = {"type": LIVE_ANSWER_GENERATOR}
    redis_url = settings.lock_store_redis_url
    if redis_url:
        from urllib.parse import urlparse

        parsed = urlparse(redis_url)
        endpoints["lock_store"] = {
            "type": ATOMIC_REDIS_LOCK_STORE,
            "url": parsed.hostname or "127.0.0.1",
            "port": parsed.port or 6379,
            "db": int((parsed.path or "/0").lstrip("/") or 0),
        }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(endpoints, sort_keys=False), encoding="utf-8")
    return path


def write_credentials(settings: Settings, path: Path) -> Path:
    """credentials.yml for this run: REST always, messengers when configured.

    REST is the project's channel (``channels.rest.RestInput``, same name and URL as Rasa's
    ``rest``), which ignores caller-sent ``input_channel``/``metadata`` and caps sizes.
    """
    from channels.registry import messengers

    credentials: Dict[str, object] = {REST_CHANNEL: None}
    for info in messengers():
        if info.input_class and info.is_on(settings):
            credentials[info.input_class] = {}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(credentials, sort_keys=False), encoding="utf-8")
    return path


def child_environment(settings: Settings) -> Dict[str, str]:
    env = quiet_environment()
    env.update({k: v for k, v in settings.extra.items() if k not in env})
    env["SANIC_HOST"] = settings.host
    # Sanic reads whole bodies before a route (and Rasa's token check) runs: 16 MiB instead of
    # Sanic's 100 MB. Customer-facing webhooks have their own, much smaller limits (channels/).
    env.setdefault("SANIC_REQUEST_MAX_SIZE", str(16 * 1024 * 1024))
    return env


def rasa_command(
    settings: Settings, model: Path, endpoints: Path, credentials: Path, python: str
) -> List[str]:
    """``rasa run`` with the REST channel and the token-protected HTTP API on ``settings.host``.

    Started through :mod:`bot.rasa_server`, which reads ``RASA_TOKEN`` from the environment
    (the child needs it there), so the token is not visible in the process list."""
    return [
        python, "-m", "bot.rasa_server", "run",
        "--model", str(model),
        "--enable-api",
        "--interface", settings.host,
        "--port", str(settings.rasa_port),
        "--endpoints", str(endpoints),
        "--credentials", str(credentials),
    ]


def actions_command(settings: Settings, python: str) -> List[str]:
    """The token-checking action server (:mod:`bot.action_server`) on ``BOT_HOST``:``ACTION_PORT``.

    It reads its settings (host, port, ``ACTION_SERVER_TOKEN``) from the environment.
    """
    return [python, "-m", "bot.action_server"]


def rasa_health_url(settings: Settings) -> urllib.request.Request:
    """``/status`` (answers once a model is loaded), authenticated by a header, not the URL.
    The JWT in it is valid for 15 minutes: long enough for Rasa's start-up."""
    return urllib.request.Request(
        f"{settings.rasa_url}/status", headers=auth_headers(settings.rasa_token, lifetime=900)
    )


def actions_health_url(settings: Settings) -> str:
    return f"http://{settings.host}:{settings.action_port}/health"


def build_services(settings: Settings, model: Path, python: str = sys.executable) -> List[Service]:
    # Customer data lives in var/ (databases, logs): owner only. The log file is created 600
    # before Rasa opens it for appending.
    secure_var_dir(settings.var_dir)
    create_private_file(settings.var_dir / "rasa.log")
    endpoints = write_endpoints(settings, settings.var_dir / "endpoints.yml")
    credentials = write_credentials(settings, settings.var_dir / "credentials.yml")
    env = child_environment(settings)
    rasa = rasa_command(settings, model, endpoints, credentials, python) + [
        "--log-file", str(settings.var_dir / "rasa.log"),
    ]
    actions = actions_command(settings, python)
    inbox = [python, "-m", "bot", "inbox"]
    return [
        Service("Aktionsserver", actions, actions_health_url(settings), env),
        Service("Rasa", rasa, rasa_health_url(settings),
                {**env, "RASA_TOKEN": settings.rasa_token}),
        Service("Inbox", inbox, f"{settings.inbox_url}/chat", env),
    ]


def is_healthy(url: HealthCheck) -> bool:
    """True if ``url`` (a loopback health endpoint, or a request for one) answers 2xx now."""
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(200 <= response.status < 300)
    except (urllib.error.URLError, OSError):
        return False


def wait_until_healthy(services: List[Service], timeout: float = 300.0) -> None:
    deadline = time.monotonic() + timeout
    pending = list(services)
    while pending:
        for service in list(pending):
            if service.process is not None and service.process.poll() is not None:
                raise ConfigurationError(
                    f"{service.name} stopped during start-up (exit {service.process.returncode}); "
                    "see its output above"
                )
            if is_healthy(service.health_url):
                print(f"  ✓ {service.name} läuft", flush=True)
                pending.remove(service)
        if pending and time.monotonic() > deadline:
            names = ", ".join(s.name for s in pending)
            raise ConfigurationError(f"{names} did not become ready within {timeout:.0f} s")
        time.sleep(0.5)


def stop_services(services: List[Service]) -> None:
    for service in services:
        if service.process is not None and service.process.poll() is None:
            service.process.terminate()
    deadline = time.monotonic() + 15
    for service in services:
        if service.process is None:
            continue
        try:
            service.process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            service.process.kill()


class StopRequest:
    """Set by Ctrl-C (SIGINT) or SIGTERM once installed: the main loop then stops everything."""

    def __init__(self) -> None:
        self.requested = False

    def install(self) -> "StopRequest":
        signal.signal(signal.SIGINT, self._request)
        signal.signal(signal.SIGTERM, self._request)
        return self

    def _request(self, signum: int, _frame: object) -> None:
        self.requested = True


def run_services(services: List[Service], banner: Callable[[], str]) -> int:
    """Start all, print ``banner()`` once healthy, block until Ctrl-C or a child dies."""
    stop = StopRequest().install()
    try:
        for service in services:
            service.process = subprocess.Popen(service.command, env=service.env, cwd=PROJECT_ROOT)
        wait_until_healthy(services)
        print(banner(), flush=True)
        while not stop.requested:
            for service in services:
                assert service.process is not None
                if service.process.poll() is not None:
                    print(
                        f"{service.name} wurde beendet (exit {service.process.returncode}); "
                        "stoppe alles.",
                        file=sys.stderr,
                    )
                    return 1
            time.sleep(0.5)
        return 0
    finally:
        print("\nStoppe Dienste …", flush=True)
        stop_services(services)
        print("Alle Dienste gestoppt.", flush=True)
