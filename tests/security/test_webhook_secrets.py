"""Forged webhook credentials are refused (403), whatever bytes they contain: never a 500."""

from __future__ import annotations

import urllib.error
import urllib.request

import pytest

from tests.channels.harness import TELEGRAM_SECRET, ChannelStack, new_chat_id

pytestmark = pytest.mark.slow


def post_raw_header(channels: ChannelStack, path: str, header: str, value: bytes) -> int:
    """POST with a header value of raw bytes (what a hostile client can send; latin-1 on the
    wire, not valid UTF-8)."""
    request = urllib.request.Request(
        f"{channels.stack.rasa_url}{path}", data=b'{"update_id": 1}', method="POST",
        headers={"Content-Type": "application/json", header: value.decode("latin-1")},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


@pytest.mark.parametrize("value", [b"\xe5\xado\x80", b"\xff" * 40, TELEGRAM_SECRET.encode()[:-1]
                                   + b"\xe9"])
def test_telegram_secret_with_non_utf8_bytes_is_refused_not_a_crash(
    channel_stack: ChannelStack, value: bytes
) -> None:
    assert post_raw_header(
        channel_stack, "/webhooks/telegram/webhook", "X-Telegram-Bot-Api-Secret-Token", value
    ) == 403
    # and the genuine secret still works
    update = channel_stack.telegram.text_update(new_chat_id(), "Hallo!")
    assert channel_stack.post_telegram(update) == 200
