"""Local PostgreSQL, Redis, RabbitMQ and haproxy on 127.0.0.1, from Debian packages.

:func:`ensure_packages` installs what is missing (``apt-get update`` once, then
``apt-get install -y``, one line printed per package). Each server class starts a private
instance whose data lives in a directory of its own (a throwaway one in tests, ``var/scaled``
for ``make run-scaled``), listening on loopback only, and stops it cleanly.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

from bot.errors import BotError

# Debian package -> a file it installs (present = installed).
PACKAGES: Dict[str, str] = {
    "postgresql": "/usr/lib/postgresql",
    "redis-server": "/usr/bin/redis-server",
    "rabbitmq-server": "/usr/lib/rabbitmq/bin/rabbitmq-server",
    "haproxy": "/usr/sbin/haproxy",
}
LOOPBACK = "127.0.0.1"


class ServiceError(BotError):
    """A local server could not be installed, started or reached."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((LOOPBACK, 0))
        return int(probe.getsockname()[1])


def port_open(port: int, host: str = LOOPBACK) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def wait_for_port(port: int, name: str, timeout: float,
                  process: Optional["subprocess.Popen[bytes]"] = None,
                  log: Optional[Path] = None) -> None:
    deadline = time.monotonic() + timeout
    while not port_open(port):
        if process is not None and process.poll() is not None:
            raise ServiceError(f"{name} stopped during start-up (exit {process.returncode})"
                               f"{_tail(log)}")
        if time.monotonic() > deadline:
            raise ServiceError(f"{name} did not listen on {LOOPBACK}:{port} within "
                               f"{timeout:.0f} s{_tail(log)}")
        time.sleep(0.2)


def _tail(log: Optional[Path], lines: int = 15) -> str:
    if log is None or not log.is_file():
        return ""
    return "\n" + "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


def missing_packages(packages: Sequence[str] = tuple(PACKAGES)) -> List[str]:
    return [name for name in packages if not Path(PACKAGES[name]).exists()]


def ensure_packages(packages: Sequence[str] = tuple(PACKAGES)) -> List[str]:
    """Install the missing Debian packages; returns those installed. Raises with the reason
    when they are missing and cannot be installed (not root, no apt-get, apt failed)."""
    missing = missing_packages(packages)
    if not missing:
        return []
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise ServiceError(f"{', '.join(missing)} not installed and cannot be installed here "
                           "(needs root and apt-get): install them with apt-get")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    update = subprocess.run(["apt-get", "update", "-qq"], env=env, capture_output=True,
                            text=True, timeout=600)
    if update.returncode != 0:
        raise ServiceError(f"apt-get update failed: {update.stderr.strip()[-500:]}")
    for name in missing:
        print(f"Installing {name} (Debian package) …", flush=True)
        done = subprocess.run(
            ["apt-get", "install", "-y", "-qq", "--no-install-recommends", name],
            env=env, capture_output=True, text=True, timeout=900,
        )
        if done.returncode != 0 or not Path(PACKAGES[name]).exists():
            raise ServiceError(f"apt-get install {name} failed: {done.stderr.strip()[-500:]}")
    return missing


def _stop_process(process: Optional["subprocess.Popen[bytes]"], timeout: float = 20) -> None:
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


def _postgres_bin() -> Path:
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/postgres"))
    if not versions:
        raise ServiceError("PostgreSQL binaries not found under /usr/lib/postgresql")
    return versions[-1].parent


@dataclass
class Postgres:
    """A private PostgreSQL cluster run as the ``postgres`` user, password auth on loopback.

    The cluster lives in a directory owned by ``postgres`` (``base``, default: a temporary
    one, since ``var/`` is private to its owner)."""

    port: int
    base: Optional[Path] = None
    user: str = "paula"
    password: str = field(default_factory=lambda: secrets.token_urlsafe(18))
    process: Optional["subprocess.Popen[bytes]"] = None

    def url(self, database: str) -> str:
        return (f"postgresql://{self.user}:{self.password}@{LOOPBACK}:{self.port}/{database}")

    def _as_postgres(self, *command: str) -> "subprocess.CompletedProcess[str]":
        return subprocess.run(["runuser", "-u", "postgres", "--", *command], capture_output=True,
                              text=True, timeout=120)

    def start(self, databases: Sequence[str], timeout: float = 60) -> None:
        if self.base is None:
            self.base = Path(tempfile.mkdtemp(prefix="paula-pg-"))
        self.base.mkdir(parents=True, exist_ok=True)
        shutil.chown(self.base, "postgres", "postgres")
        self.base.chmod(0o700)
        data = self.base / "data"
        pwfile = self.base / "pw"
        pwfile.write_text(self.password + "\n")
        shutil.chown(pwfile, "postgres", "postgres")
        pwfile.chmod(0o600)
        binary = _postgres_bin()
        if not (data / "PG_VERSION").exists():
            done = self._as_postgres(
                str(binary / "initdb"), "-D", str(data), "-U", self.user, f"--pwfile={pwfile}",
                "--auth-local=scram-sha-256", "--auth-host=scram-sha-256", "-E", "UTF8",
                "--locale=C.UTF-8",
            )
            if done.returncode != 0:
                raise ServiceError(f"initdb failed: {done.stderr.strip()[-500:]}")
        pwfile.unlink()
        log = self.base / "postgres.log"
        handle = log.open("ab")
        shutil.chown(log, "postgres", "postgres")
        self.process = subprocess.Popen(
            ["runuser", "-u", "postgres", "--", str(binary / "postgres"), "-D", str(data),
             "-c", f"listen_addresses={LOOPBACK}", "-p", str(self.port),
             "-c", f"unix_socket_directories={self.base}", "-c", "max_connections=200",
             "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"],
            stdout=handle, stderr=subprocess.STDOUT, start_new_session=True,
        )
        wait_for_port(self.port, "PostgreSQL", timeout, self.process, log)
        self._create_databases(databases, timeout)

    def _create_databases(self, databases: Sequence[str], timeout: float) -> None:
        import psycopg2

        deadline = time.monotonic() + timeout
        while True:
            try:
                connection = psycopg2.connect(host=LOOPBACK, port=self.port, user=self.user,
                                              password=self.password, dbname="postgres")
                break
            except psycopg2.OperationalError:  # still starting up
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.3)
        connection.autocommit = True
        try:
            with connection.cursor() as cursor:
                for name in databases:
                    cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
                    if cursor.fetchone() is None:
                        cursor.execute(f'CREATE DATABASE "{name}"')
        finally:
            connection.close()

    def stop(self) -> None:
        """Fast shutdown (open sessions are ended, data is consistent)."""
        if self.process is None or self.process.poll() is not None or self.base is None:
            return
        subprocess.run(["runuser", "-u", "postgres", "--", str(_postgres_bin() / "pg_ctl"),
                        "-D", str(self.base / "data"), "stop", "-m", "fast", "-w", "-t", "30"],
                       capture_output=True, timeout=60)
        _stop_process(self.process, timeout=30)

    def remove(self) -> None:
        if self.base is not None and self.base.name.startswith("paula-pg-"):
            shutil.rmtree(self.base, ignore_errors=True)


@dataclass
class Redis:
    port: int
    directory: Path
    process: Optional["subprocess.Popen[bytes]"] = None

    @property
    def url(self) -> str:
        return f"redis://{LOOPBACK}:{self.port}/0"

    def start(self, timeout: float = 30) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        log = self.directory / "redis.log"
        self.process = subprocess.Popen(
            ["redis-server", "--bind", LOOPBACK, "--port", str(self.port),
             "--dir", str(self.directory), "--save", "", "--appendonly", "no",
             "--protected-mode", "yes", "--logfile", str(log)],
            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, start_new_session=True,
        )
        wait_for_port(self.port, "Redis", timeout, self.process, log)

    def stop(self) -> None:
        _stop_process(self.process)


@dataclass
class RabbitMQ:
    """A RabbitMQ node with its data and logs in ``directory``; AMQP and Erlang distribution
    (and epmd) on loopback only. A generated user replaces ``guest``; ``queues`` are durable
    and bound to Rasa's exchange from the first moment of every boot."""

    port: int
    directory: Path
    user: str = "paula"
    password: str = field(default_factory=lambda: secrets.token_urlsafe(18))
    dist_port: int = field(default_factory=free_port)
    epmd_port: int = field(default_factory=free_port)
    node: str = field(default_factory=lambda: f"paula{secrets.token_hex(4)}@localhost")
    exchange: str = "rasa-exchange"  # what Rasa's PikaEventBroker publishes to
    queues: Tuple[str, ...] = ("paula-events",)
    process: Optional["subprocess.Popen[bytes]"] = None

    @property
    def url(self) -> str:
        return f"amqp://{self.user}:{self.password}@{LOOPBACK}:{self.port}/%2F"

    def environment(self) -> Dict[str, str]:
        home = self.directory / "home"
        return {
            **os.environ,
            "HOME": str(home),
            "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_NODE_IP_ADDRESS": LOOPBACK,
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "ERL_EPMD_ADDRESS": LOOPBACK,
            "ERL_EPMD_PORT": str(self.epmd_port),
            "RABBITMQ_MNESIA_BASE": str(self.directory / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self.directory / "log"),
            "RABBITMQ_CONFIG_FILE": str(self.directory / "rabbitmq.conf"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.directory / "enabled_plugins"),
            "RABBITMQ_ENABLED_PLUGINS": "",
            "RABBITMQ_PID_FILE": str(self.directory / "rabbit.pid"),
            "RABBITMQ_SERVER_ERL_ARGS": "+S 1:1 +A 4",
            "RABBITMQ_CTL_ERL_ARGS": "+S 1:1",
        }

    def definitions(self) -> Dict[str, object]:
        """Loaded at every boot: the user, and Rasa's exchange bound to the durable queue.

        Rasa declares its fanout exchange non-durable, so a restarted broker would come up
        without it (and without the binding): events Rasa publishes right after reconnecting,
        before the exchange and binding are declared again, would be dropped unrouted."""
        salt = secrets.token_bytes(4)
        digest = hashlib.sha256(salt + self.password.encode()).digest()
        return {
            "vhosts": [{"name": "/"}],
            "users": [{"name": self.user, "tags": ["administrator"],
                       "password_hash": base64.b64encode(salt + digest).decode(),
                       "hashing_algorithm": "rabbit_password_hashing_sha256"}],
            "permissions": [{"user": self.user, "vhost": "/", "configure": ".*",
                             "write": ".*", "read": ".*"}],
            "exchanges": [{"name": self.exchange, "vhost": "/", "type": "fanout",
                           "durable": False, "auto_delete": False, "internal": False,
                           "arguments": {}}],
            "queues": [{"name": queue, "vhost": "/", "durable": True, "auto_delete": False,
                        "arguments": {}} for queue in self.queues],
            "bindings": [{"source": self.exchange, "vhost": "/", "destination": queue,
                          "destination_type": "queue", "routing_key": "", "arguments": {}}
                         for queue in self.queues],
        }

    def start(self, timeout: float = 120) -> None:
        (self.directory / "home").mkdir(parents=True, exist_ok=True)
        (self.directory / "home").chmod(0o700)
        (self.directory / "enabled_plugins").write_text("[].\n")
        definitions = self.directory / "definitions.json"
        definitions.write_text(json.dumps(self.definitions()))
        definitions.chmod(0o600)
        (self.directory / "rabbitmq.conf").write_text(
            f"listeners.tcp.1 = {LOOPBACK}:{self.port}\n"
            "loopback_users = none\n"
            "disk_free_limit.absolute = 50MB\n"
            "definitions.import_backend = local_filesystem\n"
            f"definitions.local.path = {definitions}\n"
            "definitions.skip_if_unchanged = false\n"
        )
        (self.directory / "rabbitmq.conf").chmod(0o600)
        self.start_node(timeout)

    def start_node(self, timeout: float = 120) -> None:
        """Start (or start again, keeping its data) the node."""
        log = self.directory / "rabbitmq.out"
        handle = log.open("ab")
        self.process = subprocess.Popen(
            ["/usr/lib/rabbitmq/bin/rabbitmq-server"], env=self.environment(),
            stdout=handle, stderr=subprocess.STDOUT, cwd=self.directory, start_new_session=True,
        )
        wait_for_port(self.port, "RabbitMQ", timeout, self.process, log)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        subprocess.run(["/usr/lib/rabbitmq/bin/rabbitmqctl", "-n", self.node, "stop"],
                       env=self.environment(), capture_output=True, timeout=60)
        _stop_process(self.process, timeout=30)
        self._stop_epmd()

    def restart(self, timeout: float = 120) -> None:
        """Stop and start the node again (durable queues and persistent messages survive)."""
        subprocess.run(["/usr/lib/rabbitmq/bin/rabbitmqctl", "-n", self.node, "stop"],
                       env=self.environment(), capture_output=True, timeout=60)
        _stop_process(self.process, timeout=30)
        self.start_node(timeout)

    def _stop_epmd(self) -> None:
        subprocess.run(["epmd", "-port", str(self.epmd_port), "-kill"],
                       env=self.environment(), capture_output=True, timeout=10)


@dataclass(frozen=True)
class Frontend:
    """One haproxy frontend: ``port`` on loopback, round robin over ``backends`` (ports)."""

    name: str
    port: int
    backends: Tuple[int, ...]
    health_path: str


def haproxy_config(frontends: Sequence[Frontend]) -> str:
    """HTTP load balancing with health checks; a request whose connection to a server fails
    is sent again to another server (``retries`` + ``option redispatch``)."""
    lines = [
        "global",
        "  maxconn 4096",
        "  log stdout format raw local0 info",
        "defaults",
        "  mode http",
        "  log global",
        "  option httplog",
        # The whole request is read before it goes out: a request that must be retried on
        # another server is still there to be sent again.
        "  option http-buffer-request",
        "  timeout connect 2s",
        "  timeout client 120s",
        "  timeout server 120s",
        "  timeout http-keep-alive 10s",
        "  retries 3",
        "  option redispatch 1",
        "  retry-on conn-failure empty-response response-timeout",
        "",
    ]
    for frontend in frontends:
        lines += [
            f"frontend {frontend.name}",
            f"  bind {LOOPBACK}:{frontend.port}",
            f"  default_backend {frontend.name}_servers",
            f"backend {frontend.name}_servers",
            "  balance roundrobin",
            f"  option httpchk GET {frontend.health_path}",
            # A busy server answers its check late: give it time before taking it out.
            "  timeout check 5s",
            "  default-server inter 1s fall 3 rise 1",
        ]
        if frontend.name == "rasa":
            # An answer takes well under a second; a server silent this long is treated as
            # gone and the request goes to another one (retry-on response-timeout).
            lines.append("  timeout server 30s")
        # Server-sent-event streams (inbox live updates) stay open: no server timeout there.
        if frontend.name == "inbox":
            lines.append("  timeout server 1h")
            lines.append("  timeout tunnel 1h")
        for index, port in enumerate(frontend.backends):
            lines.append(f"  server {frontend.name}{index + 1} {LOOPBACK}:{port} check")
        lines.append("")
    return "\n".join(lines)


@dataclass
class HAProxy:
    directory: Path
    frontends: Sequence[Frontend]
    process: Optional["subprocess.Popen[bytes]"] = None

    def start(self, timeout: float = 20) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        config = self.directory / "haproxy.cfg"
        config.write_text(haproxy_config(self.frontends))
        log = self.directory / "haproxy.log"
        check = subprocess.run(["haproxy", "-c", "-f", str(config)], capture_output=True,
                               text=True, timeout=30)
        if check.returncode != 0:
            raise ServiceError(f"haproxy rejected its configuration: {check.stdout}{check.stderr}")
        self.process = subprocess.Popen(
            ["haproxy", "-db", "-f", str(config)], stdout=log.open("ab"),
            stderr=subprocess.STDOUT, start_new_session=True,
        )
        for frontend in self.frontends:
            wait_for_port(frontend.port, "haproxy", timeout, self.process, log)

    def stop(self) -> None:
        _stop_process(self.process)
