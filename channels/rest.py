"""The REST channel: ``channels.rest.RestInput`` in credentials.yml (replaces Rasa's ``rest``).

Same name and URL as Rasa's (``POST /webhooks/rest/webhook`` with ``{"sender", "message"}``,
answered with the bot's messages as a JSON list), but every field is hostile until checked:

- ``input_channel`` and ``metadata`` of the body are ignored: the channel is always ``rest``
  and the metadata empty (Rasa's stock channel trusted both, which let a caller pose as
  WhatsApp and plant media URLs for the inbox);
- the body is capped (:data:`MAX_REST_BODY_BYTES`, refused before it is read), the text at
  ``INBOUND_MAX_CHARS`` (413 with a German sentence as the bot's answer), the sender id to
  128 plain characters; malformed JSON, non-object bodies, non-string fields: 400;
- ``/intent`` text is only taken as a payload of a button this conversation was offered;
- a turn that produced no bot message (action server down) gets a German holding message.
"""

from __future__ import annotations

import json
import logging
from typing import Any, Dict, List, Optional

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.channels.rest import RestInput as RasaRestInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.settings import load_settings
from channels._guard import (
    MAX_REST_BODY_BYTES,
    BodyTooLargeError,
    customer_text,
    read_body_limited,
    too_long_text,
    valid_sender,
)
from channels._inbound import OnNewMessage, handle_and_answer

logger = logging.getLogger(__name__)

CHANNEL = "rest"
INVALID = "Ungültige Anfrage."


def _error(message: str, status: int, sender: Optional[str] = None) -> HTTPResponse:
    """A refusal the caller can show: the German sentence as the bot's only message."""
    return response.json(
        [{"recipient_id": sender or "", "text": message}],
        status=status,
        headers={"X-Paula-Error": "1"},
    )


class RestInput(RasaRestInput):
    """Customers on the REST channel (the web chat, integrations)."""

    @classmethod
    def name(cls) -> str:
        return CHANNEL

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[str, Any]]) -> "RestInput":
        return cls(load_settings().inbound_max_chars)

    def __init__(self, max_chars: int = 2000) -> None:
        self.max_chars = max_chars

    def _extract_input_channel(self, req: Request) -> str:
        return CHANNEL  # never the caller's claim

    def get_metadata(self, request: Request) -> Optional[Dict[str, Any]]:
        return None  # never the caller's metadata

    async def parse(self, request: Request) -> "tuple[str, str] | HTTPResponse":
        """(sender, text) of a valid request, or the response refusing it."""
        try:
            raw = await read_body_limited(request, MAX_REST_BODY_BYTES)
        except BodyTooLargeError:
            return _error(too_long_text(self.max_chars), 413)
        try:
            body = json.loads(raw)
        except (ValueError, RecursionError):
            return _error(INVALID, 400)
        if not isinstance(body, dict):
            return _error(INVALID, 400)
        sender, text = body.get("sender"), body.get("message")
        if not valid_sender(sender):
            return _error(INVALID, 400)
        if not isinstance(text, str) or not text.strip():
            return _error(INVALID, 400, sender)
        if len(text) > self.max_chars:
            return _error(too_long_text(self.max_chars), 413, sender)
        return sender, text

    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        hook = Blueprint("bergpfad_rest", __name__)

        @hook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @hook.route("/webhook", methods=["POST"], stream=True)
        async def receive(request: Request) -> HTTPResponse:
            parsed = await self.parse(request)
            if isinstance(parsed, HTTPResponse):
                return parsed
            sender, text = parsed
            agent = getattr(request.app.ctx, "agent", None)
            collector = CollectingOutputChannel()
            message = UserMessage(
                await customer_text(agent, sender, text),
                collector,
                sender,
                input_channel=CHANNEL,
                metadata=None,
            )
            try:
                await handle_and_answer(on_new_message, agent, message)
            except Exception:  # noqa: BLE001 - logged; the customer still gets an answer
                logger.exception("rest: could not handle message %s", message.message_id)
            messages: List[Dict[str, Any]] = collector.messages
            return response.json(messages)

        return hook


__all__ = ["RestInput"]
