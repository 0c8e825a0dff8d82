"""Bounded retries with exponential backoff for calls to a messenger provider."""

from __future__ import annotations

import asyncio
import logging
import random
from dataclasses import dataclass
from typing import Awaitable, Callable, Optional, Tuple, TypeVar

from channels.delivery import DeliveryReason

logger = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """At most ``attempts`` calls; waits double from ``base_delay`` up to ``max_delay``.

    A provider-requested wait (Telegram's ``retry_after``) is honoured up to ``max_retry_after``;
    a longer one fails the message instead of stalling the conversation.
    """

    attempts: int = 4
    base_delay: float = 0.5
    max_delay: float = 8.0
    max_retry_after: float = 30.0

    def backoff(self, attempt: int) -> float:
        """Wait before retry number ``attempt`` (1-based), with a little jitter."""
        delay = min(self.max_delay, self.base_delay * (2 ** (attempt - 1)))
        return float(delay * random.uniform(0.8, 1.2))  # noqa: S311 - jitter, not crypto


@dataclass(frozen=True)
class Verdict:
    """How to treat an error: retry (after ``delay`` if the provider said so) or give up."""

    retry: bool
    reason: DeliveryReason
    delay: Optional[float] = None
    error_code: Optional[str] = None


class DeliveryFailed(Exception):
    """A message could not be delivered, for ``reason``; the message is the provider's words."""

    def __init__(
        self,
        reason: DeliveryReason,
        message: str,
        attempts: int = 0,
        error_code: Optional[str] = None,
    ) -> None:
        super().__init__(message)
        self.reason = reason
        self.attempts = attempts
        self.error_code = error_code


async def call_with_retries(
    operation: Callable[[], Awaitable[T]],
    classify: Callable[[BaseException], Verdict],
    policy: RetryPolicy,
    what: str,
) -> Tuple[T, int]:
    """Run ``operation`` until it succeeds or ``classify`` says stop; returns (result, attempts).

    Raises :class:`DeliveryFailed` when it finally fails.
    """
    attempt = 0
    while True:
        attempt += 1
        try:
            return await operation(), attempt
        except asyncio.CancelledError:
            raise
        except Exception as error:  # noqa: BLE001 - classified below
            verdict = classify(error)
            if not verdict.retry or attempt >= policy.attempts:
                raise DeliveryFailed(
                    verdict.reason, str(error), attempt, verdict.error_code
                ) from error
            if verdict.delay is not None:
                if verdict.delay > policy.max_retry_after:
                    raise DeliveryFailed(
                        verdict.reason, str(error), attempt, verdict.error_code
                    ) from error
                delay = verdict.delay
            else:
                delay = policy.backoff(attempt)
            logger.warning(
                "%s failed (%s, attempt %d of %d); retrying in %.1f s",
                what, error, attempt, policy.attempts, delay,
            )
            await asyncio.sleep(delay)


__all__ = ["DeliveryFailed", "RetryPolicy", "Verdict", "call_with_retries"]
