from pathlib import Path

import pytest

from bot.errors import ConfigurationError
from bot.settings import load_settings, read_dotenv


def test_defaults_are_embedded_and_loopback(tmp_path: Path) -> None:
    settings = load_settings({"BOT_VAR_DIR": str(tmp_path)})
    assert settings.host == "127.0.0.1"
    assert settings.rasa_port == 5005
    assert settings.support_db_url == f"sqlite:///{tmp_path / 'support.db'}"
    assert settings.telegram is None and settings.whatsapp is None


def test_half_configured_channel_is_a_clear_error() -> None:
    with pytest.raises(ConfigurationError, match="TELEGRAM_SECRET_TOKEN"):
        load_settings({"TELEGRAM_TOKEN": "123:abc"})
    with pytest.raises(ConfigurationError, match="WhatsApp is half configured"):
        load_settings({"TWILIO_ACCOUNT_SID": "AC1", "TWILIO_AUTH_TOKEN": "x"})


def test_bad_number_is_a_clear_error() -> None:
    with pytest.raises(ConfigurationError, match="RASA_PORT must be a whole number"):
        load_settings({"RASA_PORT": "fünf"})


def test_inbound_message_limit(tmp_path: Path) -> None:
    assert load_settings({"BOT_VAR_DIR": str(tmp_path)}).inbound_max_chars == 2000
    assert load_settings({"INBOUND_MAX_CHARS": "500"}).inbound_max_chars == 500
    with pytest.raises(ConfigurationError, match="INBOUND_MAX_CHARS must be between"):
        load_settings({"INBOUND_MAX_CHARS": "0"})


def test_dotenv_parsing(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    env.write_text('# comment\nexport A=1\nB="two words"\n\nC=\n')
    assert read_dotenv(env) == {"A": "1", "B": "two words", "C": ""}
    env.write_text("not a pair\n")
    with pytest.raises(ConfigurationError, match=":1: expected KEY=value"):
        read_dotenv(env)


def test_live_answer_refresh_interval() -> None:
    assert load_settings({}).answers_refresh_seconds == 2.0
    assert load_settings({"FAQ_ANSWERS_REFRESH_SECONDS": "5"}).answers_refresh_seconds == 5.0
    assert load_settings({"FAQ_ANSWERS_REFRESH_SECONDS": "0"}).answers_refresh_seconds == 1.0
    with pytest.raises(ConfigurationError, match="FAQ_ANSWERS_REFRESH_SECONDS"):
        load_settings({"FAQ_ANSWERS_REFRESH_SECONDS": "bald"})
def test_order_lookup_limits_have_documented_defaults_and_must_be_positive() -> None:
    settings = load_settings({})
    assert (
        settings.order_lookup_max_failures,
        settings.order_lookup_window_minutes,
        settings.order_lookup_lock_minutes,
    ) == (5, 60, 1440)
    with pytest.raises(ConfigurationError, match="ORDER_LOOKUP_MAX_FAILURES must be at least 1"):
        load_settings({"ORDER_LOOKUP_MAX_FAILURES": "0"})


def test_alert_settings_are_read_and_half_configured_targets_refused() -> None:
    alerts = load_settings({
        "ALERT_SMTP_URL": "smtp://u:p@127.0.0.1:2525", "ALERT_EMAIL_TO": "a@x.de, b@x.de",
        "ALERT_WEBHOOK_URL": "http://127.0.0.1:9/hook", "ALERT_QUIET_HOURS": "22-7",
    }).alerts
    assert alerts.email_to == ("a@x.de", "b@x.de") and alerts.quiet_hours == (22, 7)
    assert (alerts.alpha, alerts.min_count, alerts.min_ratio) == (0.001, 5, 2.0)
    for env, message in (
        ({"ALERT_TELEGRAM_CHAT_ID": "-100"}, "needs the Telegram channel"),
        ({"ALERT_SMTP_URL": "smtp://127.0.0.1"}, "both ALERT_SMTP_URL and ALERT_EMAIL_TO"),
        ({"ALERT_QUIET_HOURS": "nachts"}, "ALERT_QUIET_HOURS must look like 22-7"),
        ({"ALERT_WEBHOOK_URL": "ftp://x"}, "ALERT_WEBHOOK_URL must be an http"),
    ):
        with pytest.raises(ConfigurationError, match=message):
            load_settings(env)
