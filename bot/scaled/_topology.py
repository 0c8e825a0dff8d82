"""N Rasa servers, M action servers and K inbox processes behind haproxy, on PostgreSQL,
Redis and RabbitMQ (all on loopback).

::

    haproxy :5005 ─► Rasa 1..N ──► Redis (lock store)
                        │  └─────► RabbitMQ (Pika event broker, durable queue)
    haproxy :5055 ◄─────┘ (actions)             │ competing consumers
      └─► action server 1..M                    ▼
    haproxy :8000 ─► inbox 1..K ◄──► Redis pub/sub (live updates)
    PostgreSQL: tracker, support, shop

The frontends listen where ``make run`` serves (``RASA_PORT``, ``ACTION_PORT``,
``INBOX_PORT``); every instance gets a free loopback port of its own.
"""

from __future__ import annotations

import secrets
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Mapping, Optional

from bot.errors import ConfigurationError
from bot.launcher import (
    HealthCheck,
    actions_command,
    child_environment,
    is_healthy,
    rasa_command,
    write_credentials,
    write_endpoints,
)
from bot.rasa_auth import auth_headers
from bot.scaled._services import (
    LOOPBACK,
    Frontend,
    HAProxy,
    Postgres,
    RabbitMQ,
    Redis,
    ServiceError,
    free_port,
)
from bot.settings import PROJECT_ROOT, Settings, load_settings

DATABASES = ("tracker", "support", "shop")


@dataclass
class Infrastructure:
    """PostgreSQL, Redis and RabbitMQ for one scaled run."""

    postgres: Postgres
    redis: Redis
    rabbitmq: RabbitMQ

    @classmethod
    def start(cls, directory: Path, postgres_base: Optional[Path] = None,
              queue: str = "paula-events") -> "Infrastructure":
        """``queue``: the durable queue Rasa's events go to (``EVENT_BROKER_QUEUE``)."""
        directory.mkdir(parents=True, exist_ok=True)
        postgres = Postgres(free_port(), base=postgres_base)
        redis = Redis(free_port(), directory / "redis")
        rabbitmq = RabbitMQ(free_port(), directory / "rabbitmq", queues=(queue,))
        try:
            postgres.start(DATABASES)
            redis.start()
            rabbitmq.start()
        except BaseException:
            rabbitmq.stop()
            redis.stop()
            postgres.stop()
            postgres.remove()
            raise
        return cls(postgres, redis, rabbitmq)

    def environment(self) -> Dict[str, str]:
        """The settings that point every process at these servers."""
        return {
            "TRACKER_DB_URL": self.postgres.url("tracker"),
            "SUPPORT_DB_URL": self.postgres.url("support"),
            "SHOP_DB_URL": self.postgres.url("shop"),
            "LOCK_STORE_REDIS_URL": self.redis.url,
            "LIVE_UPDATES_REDIS_URL": self.redis.url,
            "EVENT_BROKER_AMQP_URL": self.rabbitmq.url,
        }

    def stop(self) -> None:
        self.rabbitmq.stop()
        self.redis.stop()
        self.postgres.stop()
        self.postgres.remove()


@dataclass
class Instance:
    role: str  # "rasa", "actions", "inbox"
    index: int
    port: int
    command: List[str]
    env: Dict[str, str]
    log: Path
    health: HealthCheck
    process: Optional["subprocess.Popen[bytes]"] = None

    @property
    def name(self) -> str:
        return f"{self.role}{self.index}"

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def start(self) -> None:
        handle = self.log.open("ab")
        self.process = subprocess.Popen(self.command, cwd=PROJECT_ROOT, env=self.env,
                                        stdout=handle, stderr=subprocess.STDOUT)

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self) -> None:
        if self.alive():
            assert self.process is not None
            self.process.terminate()

    def wait_stopped(self, timeout: float = 15) -> None:
        if self.process is None:
            return
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)

    def tail(self, lines: int = 30) -> str:
        if not self.log.is_file():
            return ""
        content = self.log.read_text(errors="replace").splitlines()[-lines:]
        return f"--- {self.name} ({self.log})\n" + "\n".join(content)


@dataclass
class ScaledStack:
    """The running topology; ``settings`` are the frontends' (what a client uses)."""

    settings: Settings
    env: Dict[str, str]
    infrastructure: Infrastructure
    instances: List[Instance] = field(default_factory=list)
    haproxy: Optional[HAProxy] = None

    def of(self, role: str) -> List[Instance]:
        return [instance for instance in self.instances if instance.role == role]

    @property
    def rasa_url(self) -> str:
        return self.settings.rasa_url

    @property
    def inbox_url(self) -> str:
        return self.settings.inbox_url

    def wait_healthy(self, instances: Optional[List[Instance]] = None,
                     timeout: float = 300) -> None:
        deadline = time.monotonic() + timeout
        pending = list(instances if instances is not None else self.instances)
        while pending:
            for instance in list(pending):
                if not instance.alive():
                    raise ServiceError(f"{instance.name} stopped during start-up:\n"
                                       f"{instance.tail()}")
                if is_healthy(instance.health):
                    pending.remove(instance)
            if pending and time.monotonic() > deadline:
                tails = "\n".join(instance.tail() for instance in pending)
                raise ServiceError(f"not ready in {timeout:.0f} s:\n{tails}")
            time.sleep(0.5)

    def logs(self) -> str:
        return "\n".join(instance.tail() for instance in self.instances)

    def stop(self) -> None:
        if self.haproxy is not None:
            self.haproxy.stop()
        for instance in self.instances:
            instance.stop()
        for instance in self.instances:
            instance.wait_stopped()


def prepare_databases(settings: Settings) -> None:
    """Support and shop databases migrated to the newest revision (``python -m bot db
    upgrade``), the demo shop seeded."""
    from bot.database import make_engine
    from bot.migrations import SUPPORT, ensure_schema
    from bot.seed import seed_shop

    ensure_schema(settings.support_db_url, SUPPORT)
    shop = make_engine(settings.shop_db_url)
    try:
        seed_shop(shop)
    finally:
        shop.dispose()


def _rasa_health(url: str, token: str) -> urllib.request.Request:
    return urllib.request.Request(f"{url}/status", headers=auth_headers(token, lifetime=3600))


def start_scaled(
    var_dir: Path,
    model: Path,
    infrastructure: Infrastructure,
    *,
    rasa: int = 2,
    actions: int = 2,
    inbox: int = 2,
    base_env: Optional[Mapping[str, str]] = None,
    python: str = sys.executable,
    timeout: float = 300,
) -> ScaledStack:
    """Start the instances and haproxy; returns once every instance answers its health check.

    ``base_env`` (default: the environment plus ``.env``) gives tokens and the frontend ports
    (``RASA_PORT``, ``ACTION_PORT``, ``INBOX_PORT``)."""
    if min(rasa, actions, inbox) < 1 or max(rasa, actions, inbox) > 16:
        raise ConfigurationError("instance counts must be between 1 and 16")
    var_dir.mkdir(parents=True, exist_ok=True)
    logs = var_dir / "logs"
    logs.mkdir(exist_ok=True)
    env = dict(base_env if base_env is not None else _environment())
    env.update(infrastructure.environment())
    env["BOT_VAR_DIR"] = str(var_dir)
    for key in ("RASA_TOKEN", "ACTION_SERVER_TOKEN", "INBOX_SECRET_KEY", "LOG_PSEUDONYM_KEY"):
        if not env.get(key, "").strip():
            env[key] = secrets.token_urlsafe(32)
    rasa_ports = [free_port() for _ in range(rasa)]
    action_ports = [free_port() for _ in range(actions)]
    inbox_ports = [free_port() for _ in range(inbox)]
    env["RASA_INSTANCE_URLS"] = ",".join(f"http://{LOOPBACK}:{port}" for port in rasa_ports)
    env.setdefault("SANIC_WORKERS", "1")
    # Rasa's lock-store tickets expire after this many seconds (Rasa's default 60): a message
    # that waited for an instance killed mid-conversation goes on after this time.
    env.setdefault("TICKET_LOCK_LIFETIME", "20")
    settings = load_settings(env)
    prepare_databases(settings)
    # Every Rasa reaches the actions (and the inbox reaches Rasa) through haproxy.
    endpoints = write_endpoints(settings, var_dir / "endpoints.yml")
    credentials = write_credentials(settings, var_dir / "credentials.yml")
    common = {**child_environment(settings), **env}
    stack = ScaledStack(settings=settings, env=env, infrastructure=infrastructure)
    for index, port in enumerate(action_ports, start=1):
        child = {**common, "ACTION_PORT": str(port)}
        stack.instances.append(Instance(
            "actions", index, port, actions_command(settings, python), child,
            logs / f"actions{index}.log", f"http://{LOOPBACK}:{port}/health"))
    for index, port in enumerate(rasa_ports, start=1):
        child = {**common, "RASA_PORT": str(port)}
        command = rasa_command(load_settings(child), model, endpoints, credentials, python)
        stack.instances.append(Instance(
            "rasa", index, port, command, child, logs / f"rasa{index}.log",
            _rasa_health(f"http://{LOOPBACK}:{port}", settings.rasa_token)))
    for index, port in enumerate(inbox_ports, start=1):
        child = {**common, "INBOX_PORT": str(port)}
        stack.instances.append(Instance(
            "inbox", index, port, [python, "-m", "bot", "inbox"], child,
            logs / f"inbox{index}.log", f"http://{LOOPBACK}:{port}/chat"))
    stack.haproxy = HAProxy(var_dir / "haproxy", [
        Frontend("rasa", settings.rasa_port, tuple(rasa_ports), "/"),
        Frontend("actions", settings.action_port, tuple(action_ports), "/health"),
        Frontend("inbox", settings.inbox_port, tuple(inbox_ports), "/chat"),
    ])
    try:
        for instance in stack.instances:
            instance.start()
        stack.haproxy.start()
        stack.wait_healthy(timeout=timeout)
    except BaseException:
        stack.stop()
        raise
    return stack


def _environment() -> Dict[str, str]:
    from bot.settings import load_environment

    return load_environment()


def process_rss_mib(pid: int) -> float:
    """Resident memory of a process and all its descendants (MiB), from /proc."""
    total = 0
    pending = [pid]
    while pending:
        one = pending.pop()
        try:
            for line in Path(f"/proc/{one}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
            for task in Path(f"/proc/{one}/task").iterdir():
                children = task / "children"
                if children.is_file():
                    pending += [int(child) for child in children.read_text().split()]
        except OSError:
            continue
    return total / 1024


__all__ = ["Infrastructure", "Instance", "ScaledStack", "prepare_databases", "process_rss_mib",
           "start_scaled"]
