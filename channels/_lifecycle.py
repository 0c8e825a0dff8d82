"""The one inbound lifecycle of every messenger channel.

verify → parse → dedupe → one customer at a time → Rasa → catch-up after a crash. A channel
joins by subclassing :class:`WebhookChannel` and implementing only what is its own (the way
python-telegram-bot handlers plug into one dispatch loop):

* :meth:`~WebhookChannel.verify` – is the request really from the provider (secret, signature)?
* :meth:`~WebhookChannel.parse` – the provider messages in a verified body (None: not one);
* :meth:`~WebhookChannel.identify` – a message's provider id and customer (None: ignore it);
* :meth:`~WebhookChannel.handle` – hand one message to Rasa (sending is its output channel's).

Everything else is here: the capped body, 403/413/400 answers, each provider message id taken
once (persisted, so a redelivery after a restart is dropped too), the provider answered at once
and the work done in the background per customer in arrival order, the message marked handled
afterwards (also after an error: only a crash leaves it), the catch-up of messages an earlier
process accepted but never handled, the health route and the start/stop listeners.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, TypeVar

from rasa.core.channels.channel import InputChannel, OutputChannel
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.errors import ConfigurationError
from bot.models import utcnow
from bot.settings import Settings, load_settings
from channels._guard import (
    MAX_PROVIDER_BODY_BYTES,
    BodyTooLargeError,
    read_body_limited,
    too_long_text,
)
from channels._inbound import (
    CATCH_UP_WINDOW,
    LazyStore,
    OnNewMessage,
    SerialTasks,
    already_answered,
    dispatch,
    record_answered_turn,
)
from channels._store import MediaItem

logger = logging.getLogger(__name__)

T = TypeVar("T")


def configured(part: Optional[T], channel: str) -> T:
    """The channel's settings group, or a clear error naming the missing variables (from the
    registry's settings check) when credentials.yml lists a channel that is off."""
    if part is None:
        from channels.registry import by_name

        info = by_name().get(channel)
        missing = f": set {', '.join(info.variables)}" if info is not None else ""
        raise ConfigurationError(
            f"the {channel} channel is listed in credentials.yml but is not configured{missing}"
        )
    return part


@dataclass(frozen=True)
class Inbound:
    """What the lifecycle needs to know of one provider message."""

    external_id: str  # the provider's id of the message: each is taken once
    sender_id: Optional[str]  # the customer (their messages are handled one after another)
    message_id: Optional[str] = None  # the id Rasa's tracker knows it by (default external_id)
    text: Optional[str] = None  # what the customer wrote (recorded if answered before a crash)


class WebhookChannel(InputChannel):
    """A Rasa input channel with the shared lifecycle; see the module docstring."""

    channel = ""  # the channel name (Rasa input channel, dedupe rows, deliveries)
    body_limit = MAX_PROVIDER_BODY_BYTES

    @classmethod
    def name(cls) -> str:
        return cls.channel

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[str, Any]]) -> "WebhookChannel":
        # Nothing secret lives in credentials.yml: everything comes from bot.settings.
        return cls(load_settings())

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.max_chars = settings.inbound_max_chars
        self.store = LazyStore(settings.support_db_url)
        self.tasks = SerialTasks()

    # -- what a channel implements -------------------------------------------------------------

    def verify(self, request: Request, body: bytes) -> bool:
        """True if the request comes from the provider (checked in constant time)."""
        raise NotImplementedError

    def verify_headers(self, request: Request) -> bool:
        """For a secret in a header: checked before a byte of the body is read."""
        return True

    def parse(self, request: Request, body: bytes) -> Optional[List[Dict[str, Any]]]:
        """The provider messages of a verified body, as JSON-safe dicts; None: not valid."""
        raise NotImplementedError

    def identify(self, raw: Dict[str, Any]) -> Optional[Inbound]:
        """The ids of one provider message; None if the channel ignores it."""
        raise NotImplementedError

    async def handle(self, raw: Dict[str, Any], agent: Any, on_new_message: OnNewMessage) -> None:
        """Hand one accepted message to Rasa (in the background, one per customer at a time)."""
        raise NotImplementedError

    # -- what a channel may change -------------------------------------------------------------

    def answer(self, status: int, error: str = "") -> HTTPResponse:
        """The webhook's answer to the provider."""
        if status == 200:
            return response.json({"ok": True})
        return response.json({"ok": False, "error": error} if error else {"ok": False},
                             status=status)

    def health(self) -> Dict[str, Any]:
        return {"status": "ok"}

    def add_routes(self, hook: Blueprint, on_new_message: OnNewMessage) -> None:
        """Further routes of the channel (e.g. status callbacks, verification handshakes)."""

    async def on_start(self, app: Any, on_new_message: OnNewMessage) -> None:
        """After the catch-up, when the server has started."""

    async def on_stop(self) -> None:
        """After the background work was drained, when the server stops."""

    async def before_drain(self) -> None:
        """When the server stops, before the background work is drained."""

    # -- for handle() --------------------------------------------------------------------------

    async def refuse_too_long(
        self, output: OutputChannel, sender_id: str, text: Optional[str], what: str
    ) -> bool:
        """True (and the customer told so) if ``text`` is longer than INBOUND_MAX_CHARS."""
        if not text or len(text) <= self.max_chars:
            return False
        logger.info("%s: message %s too long; refused", self.channel, what)
        await output.send_text_message(sender_id, too_long_text(self.max_chars))
        return True

    async def to_rasa(
        self,
        agent: Any,
        on_new_message: OnNewMessage,
        output: OutputChannel,
        sender_id: str,
        text: Optional[str],
        media: List[MediaItem],
        metadata: Dict[str, Any],
        external_id: str,
    ) -> None:
        """Text through NLU, media recorded for the team (see :func:`dispatch`)."""
        store = await self.store.get()
        await dispatch(
            channel=self.channel, store=store, agent=agent, on_new_message=on_new_message,
            output_channel=output, sender_id=sender_id, text=text, media=media,
            metadata=metadata, external_id=external_id,
        )

    # -- the lifecycle ------------------------------------------------------------------------

    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        hook = Blueprint(f"bergpfad_{self.channel}", __name__)

        @hook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json(self.health())

        @hook.route("/webhook", methods=["POST"], stream=True)
        async def webhook(request: Request) -> HTTPResponse:
            if not self.verify_headers(request):
                logger.warning("%s webhook: missing or wrong secret; rejected", self.channel)
                return self.answer(403, "invalid signature")
            try:
                body = await read_body_limited(request, self.body_limit)
            except BodyTooLargeError:
                logger.warning("%s webhook: body too large; rejected", self.channel)
                return self.answer(413, "too large")
            if not self.verify(request, body):  # before anything of the body is used
                logger.warning("%s webhook: missing or wrong signature; rejected", self.channel)
                return self.answer(403, "invalid signature")
            try:
                messages = self.parse(request, body)
            except (ValueError, TypeError, RecursionError):
                messages = None
            if messages is None:
                return self.answer(400, "not a message")
            agent = getattr(request.app.ctx, "agent", None)
            for raw in messages:
                await self.accept(raw, agent, on_new_message)
            return self.answer(200)

        self.add_routes(hook, on_new_message)

        @hook.listener("after_server_start")
        async def start(app: Any, _loop: Any) -> None:
            try:
                await self.catch_up(getattr(app.ctx, "agent", None), on_new_message)
            except Exception:  # noqa: BLE001 - the server must start all the same
                logger.exception("%s: could not catch up on unhandled messages", self.channel)
            await self.on_start(app, on_new_message)

        @hook.listener("before_server_stop")
        async def stop(_app: Any, _loop: Any) -> None:
            await self.before_drain()
            await self.tasks.drain(timeout=10)
            await self.on_stop()

        return hook

    async def accept(self, raw: Dict[str, Any], agent: Any, on_new_message: OnNewMessage) -> bool:
        """Take a message once (False for a redelivery or one ignored) and handle it in the
        background."""
        inbound = self.identify(raw)
        if inbound is None:
            return False
        store = await self.store.get()
        payload = json.dumps(raw, ensure_ascii=False)
        if not await store.run(
            store.claim_inbound, self.channel, inbound.external_id, inbound.sender_id, payload
        ):
            logger.info("%s: message %s already handled; dropped", self.channel,
                        inbound.external_id)
            return False
        self._spawn(inbound, raw, agent, on_new_message)
        return True

    def _spawn(
        self, inbound: Inbound, raw: Dict[str, Any], agent: Any, on_new_message: OnNewMessage
    ) -> None:
        async def work() -> None:
            try:
                await self.handle(raw, agent, on_new_message)
            finally:  # also after an error: only a crash leaves a message for catching up
                store = await self.store.get()
                await store.run(store.mark_handled, self.channel, inbound.external_id)

        key = inbound.sender_id or f"{self.channel}:{inbound.external_id}"
        self.tasks.spawn(key, work, f"{self.channel} message {inbound.external_id}")

    async def catch_up(self, agent: Any, on_new_message: OnNewMessage) -> int:
        """Handle messages an earlier process accepted shortly before it stopped but never
        handled; those it answered already are only marked handled."""
        store = await self.store.get()
        started = utcnow()
        pending = await store.run(store.unhandled_since, self.channel, started - CATCH_UP_WINDOW)
        for external_id, payload in pending:
            raw = json.loads(payload)
            inbound = self.identify(raw) if isinstance(raw, dict) else None
            if inbound is None:
                await store.run(store.mark_handled, self.channel, external_id)
                continue
            message_id = inbound.message_id or external_id
            in_tracker = inbound.sender_id is not None and await already_answered(
                agent, inbound.sender_id, message_id
            )
            if not in_tracker and await store.run(store.was_answered, self.channel, external_id):
                # Answered, but Rasa died before it saved the turn: record it, send nothing.
                answers = await store.run(store.answers_to, self.channel, external_id, started)
                if inbound.sender_id and inbound.text and await record_answered_turn(
                    agent, self.channel, inbound.sender_id, message_id, inbound.text, answers
                ):
                    logger.info("%s: message %s was answered before a restart; its turn is "
                                "recorded", self.channel, external_id)
                in_tracker = True
            if in_tracker:
                logger.info("%s: message %s was answered before a restart", self.channel,
                            external_id)
                await store.run(store.mark_handled, self.channel, external_id)
                continue
            logger.info("%s: catching up message %s accepted before a restart", self.channel,
                        external_id)
            self._spawn(inbound, raw, agent, on_new_message)
        return len(pending)


__all__ = ["Inbound", "WebhookChannel", "configured"]
