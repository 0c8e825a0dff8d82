"""Live updates shared by several inbox instances through Redis pub/sub.

:class:`RedisHub` is a :class:`bot.inbox._hub.Hub` whose ``publish``/``publish_topic``/``kick``
go to one Redis channel; every instance (this one included) subscribes to it and hands each
update to its own browsers' streams. An agent connected to instance A thus sees what
instance B consumed. Chosen by ``LIVE_UPDATES_REDIS_URL``. While Redis is unreachable the
updates are delivered locally only (and logged), as with a single instance.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any, Dict, List, Optional

from bot.inbox._hub import Hub

logger = logging.getLogger(__name__)

CHANNEL = "paula:inbox:live"
OUTBOX_SIZE = 5000


class RedisHub(Hub):
    def __init__(self, url: str, channel: str = CHANNEL) -> None:
        super().__init__()
        self.url = url
        self.channel = channel
        self._outbox: Optional["asyncio.Queue[str]"] = None
        self._tasks: List["asyncio.Task[None]"] = []
        self._subscribed = asyncio.Event()

    # --- what the views call (synchronous, on the event loop) -------------------------------
    def publish(self, event: str, data: Dict[str, Any]) -> None:
        self._send({"kind": "agents", "event": event, "data": data})

    def publish_topic(self, topic: str, event: str, data: Dict[str, Any]) -> None:
        self._send({"kind": "topic", "topic": topic, "event": event, "data": data})

    def kick(self, session_id: int) -> None:
        self._send({"kind": "kick", "session_id": session_id})

    def _send(self, message: Dict[str, Any]) -> None:
        if self._outbox is None:  # not started (or stopped): this process only
            self._deliver(message)
            return
        try:
            self._outbox.put_nowait(json.dumps(message, ensure_ascii=False))
        except asyncio.QueueFull:
            logger.warning("live-update outbox full: delivering locally only")
            self._deliver(message)

    def _deliver(self, message: Dict[str, Any]) -> None:
        kind = message.get("kind")
        if kind == "agents":
            Hub.publish(self, str(message.get("event")), dict(message.get("data") or {}))
        elif kind == "topic":
            Hub.publish_topic(self, str(message.get("topic")), str(message.get("event")),
                              dict(message.get("data") or {}))
        elif kind == "kick" and isinstance(message.get("session_id"), int):
            Hub.kick(self, int(message["session_id"]))

    # --- lifecycle --------------------------------------------------------------------------
    async def start(self, timeout: float = 10.0) -> None:
        """Subscribe (waits until subscribed, so no update published after start is missed)."""
        self._outbox = asyncio.Queue(OUTBOX_SIZE)
        self._tasks = [asyncio.create_task(self._publisher()),
                       asyncio.create_task(self._subscriber())]
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._subscribed.wait(), timeout)

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        self._outbox = None

    async def _publisher(self) -> None:
        from redis import asyncio as aioredis

        assert self._outbox is not None
        client = aioredis.from_url(self.url)
        try:
            while True:
                payload = await self._outbox.get()
                try:
                    await client.publish(self.channel, payload)
                except Exception as error:  # Redis down: at least this instance's browsers
                    logger.warning("Redis unreachable for live updates (%s)", error)
                    self._deliver(json.loads(payload))
        finally:
            await client.close()

    async def _subscriber(self) -> None:
        from redis import asyncio as aioredis

        while True:
            client = aioredis.from_url(self.url)
            pubsub = client.pubsub()
            try:
                await pubsub.subscribe(self.channel)
                self._subscribed.set()
                while True:
                    message = await pubsub.get_message(ignore_subscribe_messages=True,
                                                       timeout=5.0)
                    if message is None or message.get("type") != "message":
                        continue
                    try:
                        decoded = json.loads(message["data"])
                    except (ValueError, TypeError):
                        continue
                    if isinstance(decoded, dict):
                        self._deliver(decoded)
            except asyncio.CancelledError:
                raise
            except Exception as error:
                logger.warning("live-update subscription lost (%s); resubscribing", error)
                await asyncio.sleep(1.0)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.close()
                    await client.close()
