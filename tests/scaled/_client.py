"""Real HTTP on loopback against the scaled topology: customer messages, trackers, agents."""

from __future__ import annotations

import json
import secrets
import urllib.request
import uuid
from typing import Any, Dict, List

import psycopg2

from bot.rasa_auth import auth_headers
from bot.scaled._topology import ScaledStack


def new_customer(prefix: str = "scaled") -> str:
    return f"{prefix}-{secrets.token_hex(5)}"


def send(base_url: str, sender: str, text: str, timeout: float = 120) -> List[Dict[str, Any]]:
    """A customer message through the REST channel; the bot's answers. Each message has its
    own ``message_id``, so a request haproxy retries on another instance is one turn."""
    body = {"sender": sender, "message": text, "message_id": uuid.uuid4().hex}
    request = urllib.request.Request(
        f"{base_url}/webhooks/rest/webhook",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        answers: List[Dict[str, Any]] = json.loads(response.read())
    return answers


def texts(answers: List[Dict[str, Any]]) -> str:
    return "\n".join(str(answer.get("text") or "") for answer in answers)


def tracker_events(stack: ScaledStack, sender: str, base_url: str = "") -> List[Dict[str, Any]]:
    request = urllib.request.Request(
        f"{base_url or stack.rasa_url}/conversations/{sender}/tracker",
        headers=auth_headers(stack.settings.rasa_token),
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        tracker: Dict[str, Any] = json.loads(response.read())
    return list(tracker.get("events") or [])


def user_texts(events: List[Dict[str, Any]]) -> List[str]:
    return [str(event.get("text")) for event in events if event.get("event") == "user"]


def query(stack: ScaledStack, database: str, sql: str, *params: Any) -> List[Any]:
    """Read the real PostgreSQL database of the topology."""
    connection = psycopg2.connect(stack.infrastructure.postgres.url(database))
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return list(cursor.fetchall())
    finally:
        connection.close()
