"""In-process fan-out of live updates to the browsers' Server-Sent-Events streams."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any, Dict, Optional, Set

QUEUE_SIZE = 500


@dataclass(frozen=True)
class Update:
    event: str
    data: Dict[str, Any]

    def encode(self) -> bytes:
        payload = json.dumps(self.data, ensure_ascii=False, separators=(",", ":"))
        return f"event: {self.event}\ndata: {payload}\n\n".encode()


class Subscription:
    def __init__(self, hub: "Hub", topic: Optional[str], session_id: Optional[int]) -> None:
        self.hub = hub
        self.topic = topic
        self.session_id = session_id
        self.queue: "asyncio.Queue[Update]" = asyncio.Queue(QUEUE_SIZE)
        self.overflowed = False

    def offer(self, update: Update) -> None:
        try:
            self.queue.put_nowait(update)
        except asyncio.QueueFull:
            # A browser that cannot keep up reloads everything instead of missing updates.
            self.overflowed = True

    def close(self) -> None:
        self.hub.unsubscribe(self)


class Hub:
    """Agents subscribe to everything; a web-chat page subscribes to its own sender id."""

    def __init__(self) -> None:
        self._agents: Set[Subscription] = set()
        self._topics: Dict[str, Set[Subscription]] = {}

    def subscribe(
        self, topic: Optional[str] = None, session_id: Optional[int] = None
    ) -> Subscription:
        subscription = Subscription(self, topic, session_id)
        if topic is None:
            self._agents.add(subscription)
        else:
            self._topics.setdefault(topic, set()).add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        if subscription.topic is None:
            self._agents.discard(subscription)
        else:
            subscribers = self._topics.get(subscription.topic)
            if subscribers is not None:
                subscribers.discard(subscription)
                if not subscribers:
                    del self._topics[subscription.topic]

    def publish(self, event: str, data: Dict[str, Any]) -> None:
        update = Update(event, data)
        for subscription in list(self._agents):
            subscription.offer(update)

    def publish_topic(self, topic: str, event: str, data: Dict[str, Any]) -> None:
        update = Update(event, data)
        for subscription in list(self._topics.get(topic, ())):
            subscription.offer(update)

    def kick(self, session_id: int) -> None:
        """End the live streams of a session that logged out."""
        for subscription in list(self._agents):
            if subscription.session_id == session_id:
                subscription.offer(Update("logout", {}))

    def close_all(self) -> None:
        """Server shutdown: every stream ends."""
        everyone = list(self._agents) + [s for subs in self._topics.values() for s in subs]
        for subscription in everyone:
            subscription.offer(Update("bye", {}))

    @property
    def agent_count(self) -> int:
        return len(self._agents)
