"""The channel registry: the one list the launcher, CLI and inbox ask (channels/registry.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from bot.launcher import write_credentials
from bot.settings import load_settings
from channels.delivery import DeliveryReason, undelivered_text
from channels.registry import channel_group, channel_info, labels


def test_stored_channel_names_map_to_their_group_and_german_label() -> None:
    assert channel_group("telegram") == "telegram"
    assert channel_group("twilio_whatsapp") == "whatsapp"
    assert channel_group("rest") == "web"
    assert channel_group("") == "unbekannt"
    assert labels()["web"] == "Web-Chat"
    assert channel_info("somethingelse") is None


def test_launcher_lists_exactly_the_configured_channels(tmp_path: Path) -> None:
    settings = load_settings({"BOT_VAR_DIR": str(tmp_path), "TELEGRAM_TOKEN": "1:x",
                              "TELEGRAM_SECRET_TOKEN": "s"})
    text = write_credentials(settings, tmp_path / "credentials.yml").read_text()
    assert "channels.telegram.TelegramInput" in text
    assert "channels.whatsapp.WhatsAppInput" not in text


def test_the_inbox_side_of_channels_loads_no_provider_library() -> None:
    # The inbox imports these: no Telegram or Twilio code may come with them.
    probe = (
        "import sys, channels.registry, channels.delivery, bot.inbox._media, "
        "bot.inbox._transcript, bot.inbox._stats;"
        "print([m for m in sys.modules if m.split('.')[0] in ('telegram', 'twilio')])"
    )
    found = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                           check=True, timeout=120).stdout.strip()
    assert found == "[]"


def test_delivery_reasons_have_german_labels_and_unknown_codes_stay_readable() -> None:
    assert all(reason.label for reason in DeliveryReason)
    assert undelivered_text("whatsapp_24h_window").startswith("Nicht zugestellt: Außerhalb")
    assert undelivered_text("something old") == "Nicht zugestellt."
