"""A throwaway PostgreSQL server on loopback for the tests (session scoped).

``postgres`` starts one server per test session from the Debian binaries
(``/usr/lib/postgresql/<version>/bin``; as root they are installed with apt-get when missing)
in a temporary folder, listening only on 127.0.0.1 on a free port; ``postgres_url`` gives each
test its own fresh database. A machine without PostgreSQL and without a way to install it
FAILS these tests with the reason – they never skip.

Use in a test module: ``from tests._postgres import postgres, postgres_url  # noqa: F401``.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path
from typing import Iterator, List, Optional

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

_INSTALL_FAILURE: List[str] = []


def _binaries() -> Optional[Path]:
    roots = sorted(Path("/usr/lib/postgresql").glob("*/bin/postgres"),
                   key=lambda path: int(path.parent.parent.name)
                   if path.parent.parent.name.isdigit() else 0)
    return roots[-1].parent if roots else None


def _install() -> Optional[Path]:
    """apt-get install postgresql (once per session, root only); the bin folder or None."""
    if _INSTALL_FAILURE:
        return None
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        _INSTALL_FAILURE.append("not root or no apt-get: cannot install the postgresql package")
        return None
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update", "-qq"],
                    ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "postgresql"]):
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=900)
        if done.returncode != 0:
            _INSTALL_FAILURE.append(f"{' '.join(command)} failed: {done.stderr.strip()[-500:]}")
            return None
    return _binaries()


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class PostgresServer:
    """One PostgreSQL cluster in a temporary folder, superuser ``postgres``, trust on loopback."""

    def __init__(self, bin_dir: Path) -> None:
        self.bin_dir = bin_dir
        self.root = Path(tempfile.mkdtemp(prefix="bot-postgres-"))
        self.data = self.root / "data"
        self.port = _free_port()
        self._as: List[str] = []
        if os.geteuid() == 0:  # initdb refuses root: run the server as the postgres user
            if shutil.which("runuser") is None:
                raise RuntimeError("running as root without runuser: cannot start PostgreSQL")
            self._as = ["runuser", "-u", "postgres", "--"]
            shutil.chown(self.root, "postgres", "postgres")
        self.root.chmod(0o700)

    def _run(self, *command: str) -> None:
        done = subprocess.run([*self._as, *command], capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            log = self.root / "server.log"
            tail = log.read_text(errors="replace")[-1500:] if log.exists() else ""
            raise RuntimeError(f"{' '.join(command)} failed: {done.stderr.strip()}\n{tail}")

    def start(self) -> None:
        self._run(str(self.bin_dir / "initdb"), "-D", str(self.data), "-U", "postgres",
                  "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8")
        options = (f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 "
                   "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
                   "-c max_connections=200")
        self._run(str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-l",
                  str(self.root / "server.log"), "-o", options, "-w", "-t", "60", "start")

    def stop(self) -> None:
        try:
            self._run(str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-m", "immediate",
                      "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, prefix: str = "test") -> str:
        """A new empty database; returns its URL."""
        name = f"{prefix}_{uuid.uuid4().hex[:12]}"
        engine = create_engine(self.url(), future=True, poolclass=NullPool,
                               isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as connection:
                connection.execute(text(f'CREATE DATABASE "{name}"'))
        finally:
            engine.dispose()
        return self.url(name)


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    bin_dir = _binaries() or _install()
    if bin_dir is None:
        pytest.fail("PostgreSQL is not installed and could not be installed: "
                    + "; ".join(_INSTALL_FAILURE), pytrace=False)
    server = PostgresServer(bin_dir)
    try:
        server.start()
    except (RuntimeError, OSError, subprocess.SubprocessError) as error:
        shutil.rmtree(server.root, ignore_errors=True)
        pytest.fail(f"could not start a throwaway PostgreSQL: {error}", pytrace=False)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture()
def postgres_url(postgres: PostgresServer) -> str:
    """A fresh, empty database on the session's PostgreSQL server."""
    return postgres.create_database()


class Databases:
    """New empty databases of one kind for a test: SQLite files or PostgreSQL databases."""

    def __init__(self, kind: str, folder: Path, server: Optional[PostgresServer]) -> None:
        self.kind = kind
        self.folder = folder
        self.server = server

    def new(self, name: str = "support") -> str:
        if self.server is None:
            return f"sqlite:///{self.folder / f'{name}.db'}"
        return self.server.create_database(name)


@pytest.fixture(params=["sqlite", "postgresql"])
def databases(request: pytest.FixtureRequest, tmp_path: Path) -> Databases:
    """Runs the test once on SQLite files and once on the throwaway PostgreSQL server."""
    if request.param == "sqlite":
        return Databases("sqlite", tmp_path, None)
    server: PostgresServer = request.getfixturevalue("postgres")
    return Databases("postgresql", tmp_path, server)
