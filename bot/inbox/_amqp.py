"""Consumer of Rasa's Pika event broker (RabbitMQ) for several inbox instances.

Every inbox instance consumes the same durable queue (competing consumers): RabbitMQ hands
each message to one of them. A message is acknowledged only after its effects are committed
to the support database; a consumer that dies before the ack has its messages redelivered to
another one. Redelivery does no double work: the commit also records the event's identity
(``inbox_consumed_events``, unique), and an event whose identity is already there is
acknowledged without touching anything else.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import os
import socket
from typing import Any, Dict, Optional

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot._background import worth_logging
from bot.inbox._broker import RELEVANT_ACTIONS, BrokerRow, Clock, Outcome, Publisher, process_rows
from bot.inbox._models import ConsumedEvent
from bot.inbox._store import InboxStore

logger = logging.getLogger(__name__)

# Rasa's PikaEventBroker publishes to this fanout exchange (rasa.core.brokers.pika); it is
# declared with the same arguments here so either side may come up first.
EXCHANGE = "rasa-exchange"
PREFETCH = 50
RELEVANT_EVENTS = ("user", "bot", "pause", "resume")


def consumer_name() -> str:
    """This process, as recorded on the events it applies (host:pid)."""
    return f"{socket.gethostname()}:{os.getpid()}"[:128]


def event_key(body: bytes) -> str:
    """The identity of a broker message: the same event redelivered has the same key."""
    return hashlib.sha256(body).hexdigest()


def relevant(event: Dict[str, Any]) -> bool:
    kind = event.get("event")
    return kind in RELEVANT_EVENTS or (kind == "action" and event.get("name") in RELEVANT_ACTIONS)


def parse(body: bytes) -> Optional[Dict[str, Any]]:
    try:
        event = json.loads(body)
    except ValueError:
        return None
    return event if isinstance(event, dict) else None


def already_applied(session: Session, key: str) -> bool:
    return session.execute(
        select(ConsumedEvent.id).where(ConsumedEvent.event_key == key)
    ).first() is not None


def apply_event(session: Session, key: str, event: Dict[str, Any], clock: Clock
                ) -> Optional[Outcome]:
    """Record ``key`` and apply the event (one transaction); None if it was applied before."""
    if already_applied(session, key):
        return None
    now = clock()
    marker = ConsumedEvent(event_key=key, consumer=consumer_name(), consumed_at=now)
    session.add(marker)
    session.flush()  # a concurrent twin fails here (unique key) and the transaction rolls back
    row = BrokerRow(int(marker.id), str(event.get("sender_id") or ""), event)
    return process_rows(session, [row], now, track_offset=False)


async def handle_body(store: InboxStore, body: bytes, clock: Clock,
                      publish: Optional[Publisher]) -> bool:
    """Apply one message; True when it may be acknowledged (done now or before)."""
    event = parse(body)
    if event is None:
        logger.warning("dropped an event-broker message that is not a JSON object")
        return True
    if not relevant(event):
        return True
    key = event_key(body)
    try:
        outcome = await store.run(lambda session: apply_event(session, key, event, clock))
    except IntegrityError:
        # Either another consumer committed this very event a moment ago (done), or a
        # concurrent event of the same conversation created the same row first (e.g. the
        # conversation's inbox state): then this event is not applied yet and goes again.
        return bool(await store.run(lambda session: already_applied(session, key)))
    if outcome is not None and publish is not None:
        try:
            await publish(outcome)
        except Exception:  # live updates are best effort; the data is committed
            logger.exception("could not publish live updates")
    return True


async def _settle(store: InboxStore, message: Any, clock: Clock, publish: Publisher,
                  retry_seconds: float) -> None:
    """Apply and acknowledge one message; on failure it goes back to the queue. An ack that
    cannot reach RabbitMQ any more is fine: the redelivered message is recognised."""
    try:
        done = await handle_body(store, message.body, clock, publish)
    except asyncio.CancelledError:
        raise
    except Exception:
        logger.exception("could not apply an event-broker message; it is delivered again")
        done = False
    try:
        if done:
            await message.ack()
        else:
            await asyncio.sleep(retry_seconds)
            await message.nack(requeue=True)
    except Exception as error:  # channel gone: RabbitMQ redelivers it
        logger.info("could not settle an event-broker message (%s)", error)


async def run_amqp_consumer(store: InboxStore, url: str, queue_name: str, clock: Clock,
                            publish: Publisher, retry_seconds: float = 1.0) -> None:
    """Consume forever (cancel the task to stop); reconnects after RabbitMQ restarts."""
    import aio_pika

    failures = 0
    while True:
        connection = None
        try:
            connection = await aio_pika.connect(url)
            channel = await connection.channel()
            await channel.set_qos(prefetch_count=PREFETCH)
            exchange = await channel.declare_exchange(EXCHANGE, aio_pika.ExchangeType.FANOUT)
            queue = await channel.declare_queue(queue_name, durable=True)
            await queue.bind(exchange, "")
            failures = 0
            inbox: "asyncio.Queue[Any]" = asyncio.Queue()
            await queue.consume(inbox.put, no_ack=False)
            while True:
                try:
                    message = await asyncio.wait_for(inbox.get(), 1.0)
                except asyncio.TimeoutError:
                    if connection.is_closed or channel.is_closed:
                        raise ConnectionError("connection to RabbitMQ closed") from None
                    continue
                await _settle(store, message, clock, publish, retry_seconds)
        except asyncio.CancelledError:
            raise
        except Exception as error:
            failures += 1
            if worth_logging(failures):
                logger.warning("RabbitMQ consumer disconnected (%s); reconnecting (%s)", error,
                               failures)
        finally:
            if connection is not None:
                with contextlib.suppress(Exception):  # already gone
                    await asyncio.wait_for(connection.close(), 5)
        await asyncio.sleep(min(5.0, retry_seconds * max(1, failures)))
