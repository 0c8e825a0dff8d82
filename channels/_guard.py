"""Checks every inbound channel applies to what a customer sends, before Rasa sees it.

- **Slash commands.** Rasa treats text starting with ``/`` as an intent (``/order_status{...}``)
  and skips NLU. A customer may only send such text as the payload of a button *this*
  conversation was offered; anything else loses its leading slashes
  and goes through NLU like any other text (:func:`guard_slash`, :func:`customer_text`).
  "Offered" means: a button of a bot message among the conversation's last
  :data:`OFFER_LOOKBACK` tracker events (older inline keyboards stay tappable on Telegram).
- **Sizes.** Bodies are capped before they are read (:func:`read_body_limited`), texts at
  ``INBOUND_MAX_CHARS`` characters; a longer text gets :func:`too_long_text` as the answer.
- **Sender ids** of the REST channel: short, plain characters (:func:`valid_sender`).
"""

from __future__ import annotations

import re
from typing import Any, Iterable, List, Optional, Set, TypeGuard

# Bodies of the unauthenticated REST channel (and the web chat in front of it).
MAX_REST_BODY_BYTES = 64 * 1024
# Bodies of the provider webhooks (checked for a secret/signature; Telegram updates carry more).
MAX_PROVIDER_BODY_BYTES = 1024 * 1024
MAX_SENDER_CHARS = 128
# How far back in a conversation a button counts as offered (tracker events, all kinds).
OFFER_LOOKBACK = 60
_SENDER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:+@-]*$")


class BodyTooLargeError(Exception):
    """The request body is larger than allowed (answered with 413, never read to the end)."""


def too_long_text(limit: int) -> str:
    """What the customer reads when a message is longer than ``limit`` characters."""
    return (
        f"Deine Nachricht ist leider zu lang – ich kann höchstens {limit} Zeichen auf einmal "
        "lesen. Schreib mir dein Anliegen bitte kürzer oder in mehreren Nachrichten."
    )


def valid_sender(sender: Any) -> TypeGuard[str]:
    """A REST sender id: a string of 1–128 letters, digits and ``_ . : + @ -``."""
    return (
        isinstance(sender, str)
        and 0 < len(sender) <= MAX_SENDER_CHARS
        and _SENDER.match(sender) is not None
    )


def offered_payloads(events: Iterable[Any], lookback: int = OFFER_LOOKBACK) -> Set[str]:
    """Button payloads of the bot's messages among the conversation's last ``lookback`` events.

    Not only the very last bot message: Telegram keeps inline keyboards on older messages and a
    customer may tap one a few turns later. ``events`` are tracker events, as dicts (HTTP API)
    or Rasa event objects.
    """
    offered: Set[str] = set()
    for event in list(events)[-lookback:]:
        name = event.get("event") if isinstance(event, dict) else getattr(event, "type_name", "")
        if name != "bot":
            continue
        data = event.get("data") if isinstance(event, dict) else getattr(event, "data", None)
        buttons = data.get("buttons") if isinstance(data, dict) else None
        for button in buttons or []:
            payload = button.get("payload") if isinstance(button, dict) else None
            if isinstance(payload, str) and payload:
                offered.add(payload.strip())
    return offered


def guard_slash(text: str, offered: Iterable[str]) -> str:
    """``text`` for Rasa: a ``/intent`` payload only if it was offered, else plain text."""
    stripped = text.strip()
    if not stripped.startswith("/"):
        return text
    if stripped in set(offered):
        return stripped
    return stripped.lstrip("/").strip()


async def offered_for(agent: Any, sender_id: str) -> Set[str]:
    """The button payloads ``sender_id`` was recently offered (empty if none)."""
    if agent is None:
        return set()
    tracker = await agent.tracker_store.retrieve(sender_id)
    if tracker is None:
        return set()
    return offered_payloads(tracker.events)


async def customer_text(agent: Any, sender_id: str, text: str) -> str:
    """:func:`guard_slash` against this conversation's tracker (looked up only for ``/`` text)."""
    if not text.strip().startswith("/"):
        return text
    return guard_slash(text, await offered_for(agent, sender_id))


async def read_body_limited(request: Any, limit: int) -> bytes:
    """The body of a Sanic *streaming* route, refusing more than ``limit`` bytes early.

    A ``Content-Length`` above the limit is refused before a byte is read; a body without one
    (chunked) is read only up to the limit.
    """
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            if int(declared) > limit:
                raise BodyTooLargeError()
        except ValueError:
            raise BodyTooLargeError() from None
    chunks: List[bytes] = []
    size = 0
    stream = request.stream
    if stream is None:  # a non-streaming route: Sanic read it already
        body: Optional[bytes] = request.body
        if body is not None and len(body) > limit:
            raise BodyTooLargeError()
        return body or b""
    while True:
        chunk = await stream.read()
        if chunk is None:
            break
        size += len(chunk)
        if size > limit:
            raise BodyTooLargeError()
        chunks.append(chunk)
    data = b"".join(chunks)
    request.body = data
    return data


__all__ = [
    "MAX_PROVIDER_BODY_BYTES",
    "MAX_REST_BODY_BYTES",
    "MAX_SENDER_CHARS",
    "BodyTooLargeError",
    "customer_text",
    "guard_slash",
    "offered_for",
    "offered_payloads",
    "read_body_limited",
    "too_long_text",
    "valid_sender",
]
