"""Rasa's Pika event broker, made to keep every event across a RabbitMQ restart.

Rasa's ``PikaEventBroker`` puts an event whose publish failed into a deque that is sent again
only when the connection reconnects *later*: an event that fails just after the reconnect
(the old channel's publish failing late) stays in the deque for good, and the inbox never
learns of that customer message (seen in tests/scaled). This broker retries each event until
RabbitMQ confirms it (publisher confirms), bounded by :data:`GIVE_UP_SECONDS`.

Used by the scaled topology (endpoints ``event_broker`` type
``bot.scaled.pika_broker.ReliablePikaEventBroker``),
(loaded by the Rasa server process only).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Dict, Optional

from rasa.core.brokers.pika import PikaEventBroker

logger = logging.getLogger(__name__)

RETRY_SECONDS = 0.5
GIVE_UP_SECONDS = 600.0


class ReliablePikaEventBroker(PikaEventBroker):
    async def _publish(
        self, event: Dict[str, Any], headers: Optional[Dict[str, str]] = None
    ) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + GIVE_UP_SECONDS
        failures = 0
        while True:
            exchange = self._exchange
            if exchange is not None:
                try:
                    await exchange.publish(self._message(event, headers), "")
                    if failures:
                        logger.info("event published after %s failed attempts", failures)
                    return
                except Exception as error:  # RabbitMQ down or restarting: try again
                    failures += 1
                    if failures in (1, 20):
                        logger.warning("RabbitMQ did not take an event (%s); retrying", error)
            if loop.time() > deadline:
                logger.error("an event could not be published for %.0f s; kept for the next "
                             "reconnect", GIVE_UP_SECONDS)
                self._unpublished_events.append(event)
                return
            await asyncio.sleep(RETRY_SECONDS)
