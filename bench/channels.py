"""Webhook → reply latency of the Telegram and WhatsApp channels beside the REST channel.

One Rasa server (given model) with all three channels; the messenger replies go to local fake
Telegram / Twilio APIs, which timestamp each request. For every held-out example text, in turn:
REST (request → response with all answers), Telegram (signed update posted → the last answer
arrives at the fake), WhatsApp (signed webhook posted → the last answer arrives at the fake),
each from a new customer, so all three see the same texts under the same load.
"""

from __future__ import annotations

import statistics
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, List, Optional

from bench.latency import percentile
from bot.evaluation import load_examples
from tests.channels.fakes import Call
from tests.channels.harness import (
    ChannelStack,
    new_chat_id,
    new_whatsapp_number,
    start_channel_stack,
)

MESSAGES = 150
WARM_UP = 10
TARGET_RATIO = 1.2


@dataclass
class ChannelLatency:
    channel: str
    p50_ms: float
    p95_ms: float
    samples: int
    timeouts: int


def _wait_for(
    calls: Callable[[], List[Call]], count: int, timeout: float = 30.0
) -> Optional[float]:
    """Arrival time (monotonic) of the ``count``-th reply, or None on timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = calls()
        if len(found) >= count:
            return found[count - 1].at
        time.sleep(0.002)
    return None


def _telegram(channels: ChannelStack, text: str, replies: int) -> Optional[float]:
    chat = new_chat_id()
    update = channels.telegram.text_update(chat, text)
    started = time.monotonic()
    if channels.post_telegram(update) != 200:
        return None
    arrived = _wait_for(
        lambda: channels.telegram.calls_of(
            "sendMessage", lambda c: str(c.params.get("chat_id")) == str(chat)
        ),
        replies,
    )
    return None if arrived is None else (arrived - started) * 1000


def _whatsapp(channels: ChannelStack, text: str, replies: int) -> Optional[float]:
    number = new_whatsapp_number()
    params = channels.whatsapp_message(number, text)
    started = time.monotonic()
    if channels.post_whatsapp(params) != 200:
        return None
    arrived = _wait_for(
        lambda: channels.twilio.calls_of(
            "messages", lambda c: c.status == 201 and c.params.get("To") == number
        ),
        replies,
    )
    return None if arrived is None else (arrived - started) * 1000


def measure(channels: ChannelStack, texts: List[str], messages: int) -> List[ChannelLatency]:
    samples: Dict[str, List[float]] = {"REST": [], "Telegram": [], "WhatsApp": []}
    timeouts = {name: 0 for name in samples}
    for index in range(WARM_UP + messages):
        text = texts[index % len(texts)]
        started = time.monotonic()
        answers = channels.stack.send(f"bench-{uuid.uuid4().hex[:10]}", text)
        rest_ms = (time.monotonic() - started) * 1000
        replies = max(1, len(answers))
        telegram_ms = _telegram(channels, text, replies)
        whatsapp_ms = _whatsapp(channels, text, replies)
        if index < WARM_UP:
            continue
        for name, value in (("REST", rest_ms), ("Telegram", telegram_ms),
                            ("WhatsApp", whatsapp_ms)):
            if value is None:
                timeouts[name] += 1
            else:
                samples[name].append(value)
    return [
        ChannelLatency(
            name,
            statistics.median(values) if values else float("nan"),
            percentile(values, 0.95) if values else float("nan"),
            len(values),
            timeouts[name],
        )
        for name, values in samples.items()
    ]


def format_table(results: List[ChannelLatency]) -> str:
    rest = results[0]
    lines = [
        "| channel | p50 | p95 | p50 vs REST | p95 vs REST | samples | timeouts |",
        "|---|---|---|---|---|---|---|",
    ]
    for result in results:
        lines.append(
            f"| {result.channel} | {result.p50_ms:.0f} ms | {result.p95_ms:.0f} ms | "
            f"{result.p50_ms / rest.p50_ms:.2f}× | {result.p95_ms / rest.p95_ms:.2f}× | "
            f"{result.samples} | {result.timeouts} |"
        )
    return "\n".join(lines)


def run_channel_bench(model: Path, messages: int = MESSAGES) -> List[ChannelLatency]:
    """Start a stack with both channels on ``model``, measure, print a table, return results."""
    texts = [example.text for example in load_examples()]
    with tempfile.TemporaryDirectory(prefix="bench-channels-") as tmp:
        channels = start_channel_stack(Path(tmp), model)
        try:
            results = measure(channels, texts, messages)
        finally:
            channels.stop()
    print(format_table(results))
    rest = results[0]
    worst = max(r.p50_ms / rest.p50_ms for r in results[1:])
    verdict = "within" if worst <= TARGET_RATIO else "ABOVE"
    print(
        f"\nWebhook → reply at the fake API (p50) is {worst:.2f}× REST at worst: {verdict} the "
        f"{TARGET_RATIO}× target. {messages} messages per channel, one new customer each."
    )
    return results


__all__ = ["ChannelLatency", "format_table", "measure", "run_channel_bench"]
