"""A small client for the Rasa server's REST channel and HTTP API."""

from __future__ import annotations

import uuid
from typing import Any, Dict, List, Optional
from urllib.parse import quote

import aiohttp

from bot.errors import BotError
from bot.rasa_auth import auth_headers


class RasaUnavailableError(BotError):
    """The Rasa server did not answer (not started yet, or down)."""


class RasaRequestError(BotError):
    """Rasa answered, but refused or failed (e.g. the channel could not deliver a message)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _error_message(body: Any, status: int) -> str:
    if isinstance(body, dict):
        return str(body.get("message") or body.get("reason") or f"HTTP {status}")
    return f"HTTP {status}"


class RasaClient:
    def __init__(self, base_url: str, token: str, session: aiohttp.ClientSession) -> None:
        self._base = base_url.rstrip("/")
        self._token = token
        self._session = session

    async def send_rest_message(
        self, sender: str, text: str, metadata: Optional[Dict[str, Any]] = None
    ) -> List[Dict[str, Any]]:
        """Send a customer message through the REST channel; returns the bot's answers. The
        message id makes a retry by the load balancer one turn (channels/rest.py)."""
        body: Dict[str, Any] = {"sender": sender, "message": text,
                                "message_id": uuid.uuid4().hex}
        if metadata:
            body["metadata"] = metadata
        try:
            async with self._session.post(
                f"{self._base}/webhooks/rest/webhook",
                json=body,
                timeout=aiohttp.ClientTimeout(total=30),
            ) as response:
                if response.status != 200:
                    raise RasaUnavailableError(f"Rasa answered HTTP {response.status}")
                answers: List[Dict[str, Any]] = await response.json()
                return answers
        except (aiohttp.ClientError, TimeoutError) as error:
            raise RasaUnavailableError(f"Rasa is not reachable at {self._base}: {error}") from error

    def _conversation_url(self, sender: str, suffix: str) -> str:
        return f"{self._base}/conversations/{quote(sender, safe=':+')}/{suffix}"

    async def _call(
        self,
        method: str,
        url: str,
        params: Dict[str, str],
        body: Any = None,
        timeout: float = 30,
    ) -> Dict[str, Any]:
        # The token goes into a signed header, never into the URL (logs, proxies).
        try:
            async with self._session.request(
                method, url, params=params, json=body, headers=auth_headers(self._token),
                timeout=aiohttp.ClientTimeout(total=timeout),
            ) as response:
                try:
                    payload: Any = await response.json(content_type=None)
                except ValueError:
                    payload = None
                if response.status != 200:
                    message = _error_message(payload, response.status)
                    raise RasaRequestError(response.status, message)
                return payload if isinstance(payload, dict) else {}
        except (aiohttp.ClientError, TimeoutError) as error:
            raise RasaUnavailableError(f"Rasa is not reachable at {self._base}: {error}") from error

    async def tracker(self, sender: str) -> Dict[str, Any]:
        """The conversation's tracker with its events (since the last restart)."""
        return await self._call("GET", self._conversation_url(sender, "tracker"), {})

    async def append_events(self, sender: str, events: List[Dict[str, Any]]) -> Dict[str, Any]:
        """Append events and run their side effects on the customer's latest channel.

        A ``bot`` event is delivered through that channel's output channel; if delivery raises,
        Rasa answers 500 and the events are *not* stored (:class:`RasaRequestError`).
        """
        return await self._call(
            "POST",
            self._conversation_url(sender, "tracker/events"),
            {"output_channel": "latest", "execute_side_effects": "true", "include_events": "NONE"},
            body=events,
            timeout=60,
        )
