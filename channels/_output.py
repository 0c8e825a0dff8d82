"""What every messenger's output channel does the same way; a channel adds how it sends.

A channel implements ``send_text_message``, ``send_text_with_buttons``, ``send_image_url`` and
:meth:`MessengerOutput.send_document`. Quick replies are buttons, an attachment URL is a
document, a custom payload is sent as its ``text``; a failed delivery raises
:class:`~channels._retry.DeliveryFailed` only with ``raise_on_failure`` (agent replies through
Rasa's HTTP API, so a failed reply is not stored as if it had been sent).
"""

from __future__ import annotations

import logging
from typing import Any, Dict, List

from rasa.core.channels.channel import OutputChannel

from channels._retry import DeliveryFailed
from channels.delivery import DeliveryReason

logger = logging.getLogger(__name__)


def failure_message(reason: DeliveryReason) -> str:
    """The text of :class:`DeliveryFailed` (logs, Rasa's error answer); never parsed."""
    return f"{reason.value}: {reason.label}"


class MessengerOutput(OutputChannel):
    """The shared part of the Telegram, WhatsApp and Meta output channels."""

    channel = ""  # the channel name (deliveries, Rasa's output channel name)

    @classmethod
    def name(cls) -> str:
        return cls.channel

    def __init__(self, raise_on_failure: bool = False, window_open: bool = False) -> None:
        # Raise DeliveryFailed after recording a failure (agent replies), else report False.
        self.raise_on_failure = raise_on_failure
        # True when the customer just wrote (reachable, not opted out, within any messaging
        # window): no lookup before sending.
        self.window_open = window_open

    def _failed(self, reason: DeliveryReason, attempts: int = 0) -> bool:
        """After a failure was recorded: raise for agent replies, else report False."""
        if self.raise_on_failure:
            raise DeliveryFailed(reason, failure_message(reason), attempts)
        return False

    async def send_document(self, recipient_id: str, url: str) -> None:
        """Send the file at ``url`` (http/https) as an attachment."""
        raise NotImplementedError

    async def send_quick_replies(
        self, recipient_id: str, text: str, quick_replies: List[Dict[str, Any]], **kwargs: Any
    ) -> None:
        await self.send_text_with_buttons(recipient_id, text, quick_replies)

    async def send_attachment(self, recipient_id: str, attachment: Any, **kwargs: Any) -> None:
        if isinstance(attachment, str) and attachment.startswith(("http://", "https://")):
            await self.send_document(recipient_id, attachment)
        else:
            logger.warning("%s: cannot send attachment %r; skipped", self.name(), attachment)

    async def send_custom_json(
        self, recipient_id: str, json_message: Dict[str, Any], **kwargs: Any
    ) -> None:
        if isinstance(json_message.get("text"), str):
            await self.send_text_message(recipient_id, json_message["text"])
        else:
            logger.warning("%s: custom payload without text not sent", self.name())


__all__ = ["MessengerOutput", "failure_message"]
