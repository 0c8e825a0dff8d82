"""A small client for the Rasa server's REST channel and HTTP API."""

from __future__ import annotations

from typing import Any, Dict, List, Optional

import aiohttp

from bot.errors import BotError


class RasaUnavailableError(BotError):
    """The Rasa server did not answer (not started yet, or down)."""


class RasaClient:
    def __init__(self, base_url: str, token: str, session: aiohttp.ClientSession) -> None:
        self._base = base_url.rstrip("/")
        self._token = token
        self._session = session

    async def send_rest_message(
        self, sender: str, text: str, metadata: Optional[Dict[str, Any]] = None
    ) -> List[Dict[str, Any]]:
        """Send a customer message through the REST channel; returns the bot's answers."""
        body: Dict[str, Any] = {"sender": sender, "message": text}
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
