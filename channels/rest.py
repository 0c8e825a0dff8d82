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
- a turn that produced no bot message (action server down) gets a German holding message;
- an optional ``message_id`` (8–64 letters, digits, ``-``/``_``, chosen by the client once per
  message) makes a retry safe: the same id again (a load balancer that retried after an
  instance died, a client that timed out) gets the answer recorded for it, not a second turn.
  The check and the turn run under the conversation's lock, so a retry waits for a turn still
  running elsewhere instead of racing it.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any, Dict, List, Optional, Tuple

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
from channels._inbound import OnNewMessage, answer_if_silent, handle_and_answer

logger = logging.getLogger(__name__)

CHANNEL = "rest"
INVALID = "Ungültige Anfrage."
_MESSAGE_ID = re.compile(r"[A-Za-z0-9_-]{8,64}")


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

    async def parse(
        self, request: Request
    ) -> "tuple[str, str, Optional[str]] | HTTPResponse":
        """(sender, text, message id or None) of a valid request, or the response refusing it."""
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
        message_id = body.get("message_id")
        if message_id is not None and not (
            isinstance(message_id, str) and _MESSAGE_ID.fullmatch(message_id)
        ):
            return _error(INVALID, 400, sender)
        return sender, text, message_id

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
            sender, text, message_id = parsed
            agent = getattr(request.app.ctx, "agent", None)
            collector = CollectingOutputChannel()
            message = UserMessage(
                await customer_text(agent, sender, text),
                collector,
                sender,
                input_channel=CHANNEL,
                metadata=None,
                message_id=message_id,
            )
            try:
                if message_id is not None and agent is not None:
                    recorded = await self._once(agent, message)
                    if recorded:  # else the holding message, if any, is in the collector
                        logger.info("rest: message %s was handled before; its answer again",
                                    message_id)
                        return response.json(recorded)
                else:
                    await handle_and_answer(on_new_message, agent, message)
            except Exception:  # noqa: BLE001 - logged; the customer still gets an answer
                logger.exception("rest: could not handle message %s", message.message_id)
            messages: List[Dict[str, Any]] = collector.messages
            return response.json(messages)

        return hook

    @staticmethod
    async def _once(agent: Any, message: UserMessage) -> Optional[List[Dict[str, Any]]]:
        """Handle ``message`` unless its id is in the tracker already; then its recorded
        answer. Under the conversation's lock (Rasa's own handling takes it too, so the turn
        runs through the processor directly here)."""
        sender, message_id = message.sender_id, message.message_id
        try:
            async with agent.lock_store.lock(sender):
                tracker = await agent.tracker_store.retrieve(sender)
                if tracker is not None:
                    recorded = recorded_answer(list(tracker.events), message_id, sender)
                    if recorded is not None:
                        return recorded
                await agent.processor.handle_message(message)
        finally:  # outside the lock: the holding message takes it itself
            await answer_if_silent(agent, message)
        return None


def recorded_answer(
    events: List[Any], message_id: Optional[str], sender: str
) -> Optional[List[Dict[str, Any]]]:
    """The bot messages that followed user message ``message_id`` (None if it is not there),
    shaped as the REST channel answers them."""
    found: Optional[List[Dict[str, Any]]] = None
    for event in events:
        kind = getattr(event, "type_name", "")
        if kind == "user":
            if found is not None:
                break
            if getattr(event, "message_id", None) == message_id:
                found = []
        elif kind == "bot" and found is not None:
            data: Dict[str, Any] = dict(getattr(event, "data", None) or {})
            answer: Tuple[Tuple[str, Any], ...] = (
                ("text", event.text), ("image", data.get("image")),
                ("buttons", data.get("buttons")), ("attachment", data.get("attachment")),
                ("custom", data.get("custom")),
            )
            found.append({"recipient_id": sender,
                          **{key: value for key, value in answer if value}})
    return found


__all__ = ["RestInput", "recorded_answer"]
