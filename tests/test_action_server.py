"""The action server accepts only Rasa: real server processes over HTTP on loopback."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Dict, Iterator, Optional, Tuple

import pytest
from sqlalchemy import select

from bot.action_server import is_authorized
from bot.database import make_engine, session_factory
from bot.launcher import actions_command, actions_health_url, is_healthy
from bot.models import Handoff, SupportBase
from bot.seed import seed_shop
from bot.settings import PROJECT_ROOT, Settings, load_settings
from tests._stack import Stack, free_port


def forged_call(action: str, slots: Dict[str, Any], sender: str = "attacker") -> bytes:
    """What the attacker posted: a made-up tracker asking for an action."""
    tracker = {
        "sender_id": sender,
        "slots": slots,
        "latest_message": {"text": "x", "intent": {"name": "inform", "confidence": 1.0}},
        "events": [],
        "paused": False,
        "followup_action": None,
        "active_loop": {},
        "latest_action_name": "action_listen",
    }
    return json.dumps(
        {"next_action": action, "sender_id": sender, "tracker": tracker, "domain": {}}
    ).encode()


def post(url: str, body: bytes, headers: Optional[Dict[str, str]] = None) -> Tuple[int, str]:
    request = urllib.request.Request(
        url, data=body, headers={"Content-Type": "application/json", **(headers or {})}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def action_server_env(tmp_path: Path, token: str) -> Dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "ACTION_"))}
    env.update(
        BOT_VAR_DIR=str(tmp_path),
        ACTION_PORT=str(free_port()),
        ACTION_SERVER_TOKEN=token,
        PYTHONPATH=str(PROJECT_ROOT),
    )
    return env


@pytest.fixture()
def action_server(tmp_path: Path) -> Iterator[Tuple[Settings, str]]:
    """The action server as `make run` starts it (the launcher's command), alone."""
    token = secrets.token_urlsafe(32)
    env = action_server_env(tmp_path, token)
    settings = load_settings(env)
    seed_shop(make_engine(settings.shop_db_url))
    log = (tmp_path / "actions.log").open("wb")
    process = subprocess.Popen(
        actions_command(settings, sys.executable), cwd=PROJECT_ROOT, env=env,
        stdout=log, stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 120
        while not is_healthy(actions_health_url(settings)):
            assert process.poll() is None, (tmp_path / "actions.log").read_text()
            assert time.monotonic() < deadline, "action server did not start"
            time.sleep(0.3)
        yield settings, token
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def test_forged_requests_without_the_token_run_no_action(
    action_server: Tuple[Settings, str]
) -> None:
    settings, token = action_server
    call = forged_call("action_order_status", {"order_number": "BP-482913", "postal_code": "80331"})
    for headers in (
        {},
        {"Authorization": "Bearer wrong"},
        {"Authorization": f"Bearer {token[:-1]}"},
        {"Authorization": token},  # no scheme
        {"X-Token": token},
    ):
        status, body = post(settings.action_url, call, headers)
        assert status == 401, headers
        assert "BP-482913" not in body and "dhl" not in body.lower()
    # No action ran: a forged handoff left no row for the agents.
    status, _ = post(settings.action_url, forged_call("action_handoff", {}, sender="forged"))
    assert status == 401
    engine = make_engine(settings.support_db_url)
    SupportBase.metadata.create_all(engine)
    with session_factory(engine)() as session:
        assert session.execute(select(Handoff)).first() is None
    # The query string is no way in either, nor the list of actions.
    status, _ = post(f"{settings.action_url}?token={token}", call)
    assert status == 401
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(actions_health_url(settings).replace("/health", "/actions"))
    assert refused.value.code == 401
    # Health stays open for the launcher and says nothing else.
    with urllib.request.urlopen(actions_health_url(settings)) as health:
        assert json.loads(health.read()) == {"status": "ok"}


def test_the_token_rasa_sends_runs_the_action(action_server: Tuple[Settings, str]) -> None:
    settings, token = action_server
    call = forged_call("action_order_status", {"order_number": "BP-482913", "postal_code": "80331"})
    status, body = post(settings.action_url, call, {"Authorization": f"Bearer {token}"})
    assert status == 200
    assert "BP-482913" in body and "unterwegs" in body


def test_an_action_that_fails_answers_with_the_holding_message_not_an_echo(
    action_server: Tuple[Settings, str]
) -> None:
    """rasa_sdk answered a tracker it could not read with a 500 that echoed the request body
    (customer data) and left the customer in silence."""
    settings, token = action_server
    auth = {"Authorization": f"Bearer {token}"}
    call = json.loads(forged_call("validate_order_status_form", {}, sender="kundin-42"))
    call["tracker"]["events"] = [{}]  # an event without its type: the form validation crashes
    status, body = post(settings.action_url, json.dumps(call).encode(), auth)
    assert status == 200
    answer = json.loads(body)
    assert answer["events"] == []
    assert answer["responses"][0]["text"].startswith("Einen Moment bitte")
    assert answer["responses"][0]["buttons"][0]["payload"] == "/request_human"
    assert "kundin-42" not in body
    malformed, refusal = post(settings.action_url, b'{"next_action": "action_handoff"}', auth)
    assert malformed == 400 and "action_handoff" not in refusal


def test_the_action_server_refuses_to_start_without_a_token(tmp_path: Path) -> None:
    env = action_server_env(tmp_path, "")
    result = subprocess.run(
        actions_command(load_settings(env), sys.executable), cwd=PROJECT_ROOT, env=env,
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 2
    assert "ACTION_SERVER_TOKEN is not set" in result.stderr
    assert "Traceback" not in result.stderr


def test_token_check_is_exact() -> None:
    assert is_authorized("Bearer abc", "abc")
    assert not is_authorized("Bearer abcd", "abc")
    assert not is_authorized("bearer abc", "abc")
    assert not is_authorized(None, "abc")
    assert not is_authorized("Bearer ", "")  # an empty secret never matches


@pytest.mark.slow
def test_rasa_calls_the_action_server_with_the_token(stack: Stack) -> None:
    """The real stack: Rasa's endpoints.yml carries the token; a forger without it is refused."""
    status, _ = post(
        stack.settings.action_url,
        forged_call("action_order_status", {"order_number": "BP-482913", "postal_code": "80331"}),
    )
    assert status == 401
    sender = f"test-{secrets.token_hex(6)}"
    stack.send(sender, "wo bleibt meine bestellung?")
    stack.send(sender, "BP-482913")
    answer = "\n".join(a.get("text", "") for a in stack.send(sender, "80331"))
    assert "BP-482913" in answer and "unterwegs" in answer
    endpoints = (Path(stack.settings.var_dir) / "endpoints.yml").read_text()
    assert stack.settings.action_server_token not in endpoints
