"""The real Rasa server started like `make run` starts it (bot/rasa_server.py through
bot.launcher.rasa_command): RASA_TOKEN is not in its command line, and the signed header of
bot/rasa_auth.py is accepted by Rasa's HTTP API. No model is needed for this: Rasa checks the
credentials before it checks for a model (409 = authenticated, no model; 401 = refused)."""

from __future__ import annotations

import asyncio
import os
import secrets
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Dict, Iterator

import aiohttp
import jwt
import pytest

from bot.inbox._rasa import RasaClient, RasaRequestError
from bot.launcher import rasa_command, rasa_health_url, write_credentials, write_endpoints
from bot.rasa_auth import auth_headers, bearer_token
from bot.settings import PROJECT_ROOT, Settings, load_settings
from tests._stack import free_port


def _status(url: str, headers: Dict[str, str]) -> int:
    """The HTTP status, or 0 if nothing answers (yet)."""
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=10) as r:
            return int(r.status)
    except urllib.error.HTTPError as error:
        return int(error.code)
    except (urllib.error.URLError, OSError):
        return 0


@pytest.fixture(scope="module")
def rasa(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Settings, int]]:
    var = tmp_path_factory.mktemp("rasa")
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("TELEGRAM_", "TWILIO_", "RASA_", "BOT_", "PUBLIC_BASE_URL"))}
    env.update(BOT_VAR_DIR=str(var), RASA_TOKEN=secrets.token_urlsafe(24),
               ACTION_SERVER_TOKEN=secrets.token_urlsafe(24),
               RASA_PORT=str(free_port()), PYTHONPATH=str(PROJECT_ROOT), SANIC_HOST="127.0.0.1",
               SANIC_WORKERS="1", RASA_TELEMETRY_ENABLED="false", TF_CPP_MIN_LOG_LEVEL="2")
    settings = load_settings(env)
    (var / "no-model").mkdir()
    command = rasa_command(settings, var / "no-model", write_endpoints(settings, var / "e.yml"),
                           write_credentials(settings, var / "c.yml"), sys.executable)
    log = (var / "rasa.log").open("wb")
    process = subprocess.Popen(command, cwd=PROJECT_ROOT, env=env, stdout=log,
                               stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 240
        while _status(f"{settings.rasa_url}/version", {}) != 200:
            assert process.poll() is None, (var / "rasa.log").read_text(errors="replace")
            assert time.monotonic() < deadline, "Rasa did not start within 240 s"
            time.sleep(1)
        yield settings, process.pid
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def test_the_token_is_not_in_the_process_arguments(rasa: tuple[Settings, int]) -> None:
    settings, pid = rasa
    arguments = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    assert b"bot.rasa_server" in arguments and b"--enable-api" in arguments
    assert not any(settings.rasa_token.encode() in argument for argument in arguments)
    assert b"--auth-token" not in arguments and b"--jwt-secret" not in arguments


def test_rasa_accepts_the_signed_header(rasa: tuple[Settings, int]) -> None:
    settings, _ = rasa
    status = f"{settings.rasa_url}/status"
    assert _status(status, {}) == 401
    assert _status(status, auth_headers(settings.rasa_token)) == 409  # in; no model loaded
    # the launcher's health check is that request, without the token in its URL
    health = rasa_health_url(settings)
    assert settings.rasa_token not in health.full_url
    assert _status(health.full_url, dict(health.header_items())) == 409
    # a header signed with anything else, or expired, is refused
    assert _status(status, auth_headers("ein-geratenes-token")) == 401
    forged = jwt.encode({"user": {"username": "x", "role": "admin"}}, "guess" * 8,
                        algorithm="HS256")
    assert _status(status, {"Authorization": f"Bearer {forged}"}) == 401
    old = bearer_token(settings.rasa_token, now=time.time() - 3600)
    assert _status(status, {"Authorization": f"Bearer {old}"}) == 401


def test_the_inbox_client_gets_through(rasa: tuple[Settings, int]) -> None:
    settings, _ = rasa

    async def call(token: str) -> int:
        async with aiohttp.ClientSession() as session:
            try:
                await RasaClient(settings.rasa_url, token, session).tracker("tg-1")
            except RasaRequestError as error:
                return error.status
            return 200

    assert asyncio.run(call(settings.rasa_token)) == 409  # authenticated; no model loaded
    assert asyncio.run(call("falsch")) == 401
