"""Typed settings, read once from the environment (and an optional ``.env`` file).

Nothing here runs at import time; call :func:`load_settings` where settings are needed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Optional

from bot.errors import ConfigurationError

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def read_dotenv(path: Path) -> dict[str, str]:
    """Parse a ``KEY=value`` file (comments, blank lines, optional quotes); missing file -> {}."""
    values: dict[str, str] = {}
    if not path.is_file():
        return values
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("export "):
            line = line[len("export ") :]
        key, sep, value = line.partition("=")
        if not sep or not key.strip().isidentifier():
            raise ConfigurationError(f"{path}:{number}: expected KEY=value, got {raw!r}")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key.strip()] = value
    return values


def load_environment(env_file: Optional[Path] = None) -> dict[str, str]:
    """The process environment overlaid on ``.env`` (real environment variables win)."""
    merged = read_dotenv(env_file or PROJECT_ROOT / ".env")
    merged.update(os.environ)
    return merged


def _int(env: Mapping[str, str], key: str, default: int) -> int:
    raw = env.get(key, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigurationError(f"{key} must be a whole number, got {raw!r}") from None


def _flag(env: Mapping[str, str], key: str, default: bool) -> bool:
    raw = env.get(key, "").strip().lower()
    if not raw:
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise ConfigurationError(f"{key} must be true or false, got {raw!r}")


def _networks(env: Mapping[str, str], key: str) -> tuple[str, ...]:
    """Comma-separated IP addresses or CIDR networks, normalised (``10.0.0.0/8``)."""
    import ipaddress

    networks = []
    for item in env.get(key, "").replace(";", ",").split(","):
        item = item.strip()
        if not item:
            continue
        try:
            networks.append(str(ipaddress.ip_network(item, strict=False)))
        except ValueError:
            raise ConfigurationError(
                f"{key} must list IP addresses or networks (e.g. 127.0.0.1,10.0.0.0/8), "
                f"got {item!r}"
            ) from None
    return tuple(networks)


def _urls(env: Mapping[str, str], key: str) -> tuple[str, ...]:
    """Comma-separated http(s) base URLs (trailing slashes removed)."""
    urls = []
    for item in env.get(key, "").split(","):
        item = item.strip().rstrip("/")
        if not item:
            continue
        if not item.startswith(("http://", "https://")):
            raise ConfigurationError(f"{key} must list http(s) URLs, got {item!r}")
        urls.append(item)
    return tuple(urls)


def _non_negative(env: Mapping[str, str], key: str, default: int) -> int:
    value = _int(env, key, default)
    if value < 0:
        raise ConfigurationError(f"{key} must be 0 or more, got {value}")
    return value


def _positive(env: Mapping[str, str], key: str, default: int) -> int:
    value = _int(env, key, default)
    if value < 1:
        raise ConfigurationError(f"{key} must be at least 1, got {value}")
    return value


def _sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


@dataclass(frozen=True)
class TelegramSettings:
    token: str
    secret_token: str
    api_base_url: str


@dataclass(frozen=True)
class WhatsAppSettings:
    account_sid: str
    auth_token: str
    whatsapp_from: str
    api_base_url: str
    template_content_sid: str


@dataclass(frozen=True)
class AlertSettings:
    """Early warnings (bot/insights): where they go and how sensitive the test is."""

    telegram_chat_id: str = ""
    smtp_url: str = ""
    email_to: tuple[str, ...] = ()
    email_from: str = "paula@localhost"
    webhook_url: str = ""
    # Local hours (SERVICE_TIMEZONE) in which alerts are held, e.g. (22, 7); None = never.
    quiet_hours: Optional[tuple[int, int]] = None
    alpha: float = 0.001
    min_count: int = 5
    min_ratio: float = 2.0
    interval_seconds: int = 60


def _alert_settings(env: Mapping[str, str], telegram: bool) -> AlertSettings:
    quiet = None
    raw = env.get("ALERT_QUIET_HOURS", "").strip()
    if raw:
        start, sep, end = raw.partition("-")
        if not (sep and start.strip().isdigit() and end.strip().isdigit()
                and 0 <= int(start) <= 23 and 0 <= int(end) <= 23 and int(start) != int(end)):
            raise ConfigurationError(f"ALERT_QUIET_HOURS must look like 22-7, got {raw!r}")
        quiet = (int(start), int(end))
    chat_id = env.get("ALERT_TELEGRAM_CHAT_ID", "").strip()
    if chat_id and not telegram:
        raise ConfigurationError("ALERT_TELEGRAM_CHAT_ID needs the Telegram channel "
                                 "(TELEGRAM_TOKEN and TELEGRAM_SECRET_TOKEN)")
    smtp_url = env.get("ALERT_SMTP_URL", "").strip()
    email_to = tuple(a.strip() for a in env.get("ALERT_EMAIL_TO", "").split(",") if a.strip())
    if bool(smtp_url) != bool(email_to):
        raise ConfigurationError("set both ALERT_SMTP_URL and ALERT_EMAIL_TO for e-mail alerts")
    if smtp_url and not smtp_url.startswith(("smtp://", "smtps://")):
        raise ConfigurationError("ALERT_SMTP_URL must start with smtp:// or smtps://")
    webhook = env.get("ALERT_WEBHOOK_URL", "").strip()
    if webhook and not webhook.startswith(("http://", "https://")):
        raise ConfigurationError("ALERT_WEBHOOK_URL must be an http(s) URL")
    try:
        alpha = float(env.get("ALERT_ALPHA", "").strip() or 0.001)
        ratio = float(env.get("ALERT_MIN_RATIO", "").strip() or 2.0)
    except ValueError:
        raise ConfigurationError("ALERT_ALPHA and ALERT_MIN_RATIO must be numbers") from None
    if not 0 < alpha < 0.5 or ratio < 1:
        raise ConfigurationError("ALERT_ALPHA must be in (0, 0.5), ALERT_MIN_RATIO at least 1")
    return AlertSettings(
        telegram_chat_id=chat_id, smtp_url=smtp_url, email_to=email_to,
        email_from=env.get("ALERT_EMAIL_FROM", "").strip() or "paula@localhost",
        webhook_url=webhook, quiet_hours=quiet, alpha=alpha,
        min_count=_positive(env, "ALERT_MIN_COUNT", 5), min_ratio=ratio,
        interval_seconds=_positive(env, "INSIGHTS_INTERVAL_SECONDS", 60),
    )


@dataclass(frozen=True)
class MetaSettings:
    page_access_token: str
    app_secret: str
    verify_token: str
    api_base_url: str


@dataclass(frozen=True)
class Settings:
    """Everything the processes need, in one place."""

    root: Path = PROJECT_ROOT
    var_dir: Path = PROJECT_ROOT / "var"
    host: str = "127.0.0.1"
    rasa_port: int = 5005
    action_port: int = 5055
    inbox_port: int = 8000
    rasa_token: str = ""
    # Shared secret Rasa sends to the action server on every call (Authorization: Bearer ...).
    action_server_token: str = ""
    support_db_url: str = ""
    shop_db_url: str = ""
    tracker_db_url: str = ""
    public_base_url: str = ""
    timezone: str = "Europe/Berlin"
    holiday_country: str = "DE"
    handoff_wait_minutes: int = 10
    # Failed order lookups per order number (all conversations): this many within the window
    # lock the number for the lock time (minutes); see bot/order_guard.py.
    order_lookup_max_failures: int = 5
    order_lookup_window_minutes: int = 60
    order_lookup_lock_minutes: int = 1440
    inbox_secret_key: str = ""
    # Inbox: session cookies only over HTTPS. Default: on when PUBLIC_BASE_URL is https;
    # INBOX_COOKIE_SECURE overrides it either way.
    inbox_cookie_secure: bool = False
    # Reverse proxies (IPs/CIDR networks) whose X-Forwarded-For the inbox believes; empty =
    # the direct peer address is the client.
    inbox_trusted_proxies: tuple[str, ...] = ()
    # Rasa's SQL event broker table the inbox consumes ("" = sqlite var/events.db).
    event_broker_db_url: str = ""
    # Redis lock store for several Rasa instances ("" = Rasa's in-memory lock store).
    lock_store_redis_url: str = ""
    # Scaled topology (docs/scaling.md). RabbitMQ URL: Rasa publishes its events there (Pika
    # event broker) and the inbox instances consume EVENT_BROKER_QUEUE ("" = SQL broker).
    event_broker_amqp_url: str = ""
    event_broker_queue: str = "paula-events"
    # Redis URL for live updates shared by several inbox instances ("" = in this process).
    live_updates_redis_url: str = ""
    # Every Rasa instance the trainer's ship/rollback loads a model into (() = rasa_url only).
    rasa_instance_urls: tuple[str, ...] = ()
    # Seconds between two reads of the live FAQ answer edits by the Rasa server.
    answers_refresh_seconds: float = 2.0
    # Data protection: conversations without activity for this many days are purged (0 = keep).
    retention_days: int = 180
    # Secret for the pseudonyms of sender ids in log lines ("" = a random key per process).
    log_pseudonym_key: str = ""
    # Longest customer message (characters) any channel passes on to the bot.
    inbound_max_chars: int = 2000
    telegram: Optional[TelegramSettings] = None
    whatsapp: Optional[WhatsAppSettings] = None
    alerts: AlertSettings = field(default_factory=AlertSettings)
    meta: Optional[MetaSettings] = None
    model_dir: Path = PROJECT_ROOT / "models"
    spacy_model_dir: Path = PROJECT_ROOT / "var" / "spacy_de"
    extra: Mapping[str, str] = field(default_factory=dict)

    @property
    def rasa_url(self) -> str:
        return f"http://{self.host}:{self.rasa_port}"

    @property
    def rasa_instances(self) -> tuple[str, ...]:
        """Every Rasa server a model must be loaded into."""
        return self.rasa_instance_urls or (self.rasa_url,)

    @property
    def action_url(self) -> str:
        return f"http://{self.host}:{self.action_port}/webhook"

    @property
    def inbox_url(self) -> str:
        return f"http://{self.host}:{self.inbox_port}"

    @property
    def event_broker_url(self) -> str:
        """Rasa's SQL event broker: ``EVENT_BROKER_DB_URL``, else sqlite ``var/events.db``."""
        return self.event_broker_db_url or f"sqlite:///{self.var_dir / 'events.db'}"


def _channel_group(env: Mapping[str, str], required: tuple[str, ...], name: str) -> bool:
    """True if all variables are set, False if none; half-set is a configuration error."""
    present = [key for key in required if env.get(key, "").strip()]
    if not present:
        return False
    missing = [key for key in required if key not in present]
    if missing:
        raise ConfigurationError(
            f"{name} is half configured: set {', '.join(missing)} too, "
            f"or unset {', '.join(present)} to switch {name} off"
        )
    return True


def load_settings(env: Optional[Mapping[str, str]] = None) -> Settings:
    """Build :class:`Settings` from ``env`` (default: the environment plus ``.env``)."""
    if env is None:
        env = load_environment()
    var_dir = Path(env.get("BOT_VAR_DIR") or PROJECT_ROOT / "var").resolve()
    telegram = None
    if _channel_group(env, ("TELEGRAM_TOKEN", "TELEGRAM_SECRET_TOKEN"), "Telegram"):
        telegram = TelegramSettings(
            token=env["TELEGRAM_TOKEN"].strip(),
            secret_token=env["TELEGRAM_SECRET_TOKEN"].strip(),
            api_base_url=env.get("TELEGRAM_API_BASE_URL", "").strip() or "https://api.telegram.org",
        )
    whatsapp = None
    if _channel_group(
        env, ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_WHATSAPP_FROM"), "WhatsApp"
    ):
        whatsapp = WhatsAppSettings(
            account_sid=env["TWILIO_ACCOUNT_SID"].strip(),
            auth_token=env["TWILIO_AUTH_TOKEN"].strip(),
            whatsapp_from=env["TWILIO_WHATSAPP_FROM"].strip(),
            api_base_url=env.get("TWILIO_API_BASE_URL", "").strip(),
            template_content_sid=env.get("TWILIO_TEMPLATE_CONTENT_SID", "").strip(),
        )
    meta = None
    if _channel_group(
        env, ("META_PAGE_ACCESS_TOKEN", "META_APP_SECRET", "META_VERIFY_TOKEN"),
        "Messenger/Instagram",
    ):
        meta = MetaSettings(
            page_access_token=env["META_PAGE_ACCESS_TOKEN"].strip(),
            app_secret=env["META_APP_SECRET"].strip(),
            verify_token=env["META_VERIFY_TOKEN"].strip(),
            api_base_url=(env.get("META_API_BASE_URL", "").strip()
                          or "https://graph.facebook.com/v19.0").rstrip("/"),
        )
    public_base_url = env.get("PUBLIC_BASE_URL", "").strip().rstrip("/")
    inbound_max_chars = _int(env, "INBOUND_MAX_CHARS", 2000)
    if not 1 <= inbound_max_chars <= 20000:
        raise ConfigurationError(
            f"INBOUND_MAX_CHARS must be between 1 and 20000, got {inbound_max_chars}"
        )
    return Settings(
        var_dir=var_dir,
        host=env.get("BOT_HOST", "").strip() or "127.0.0.1",
        rasa_port=_int(env, "RASA_PORT", 5005),
        action_port=_int(env, "ACTION_PORT", 5055),
        inbox_port=_int(env, "INBOX_PORT", 8000),
        rasa_token=env.get("RASA_TOKEN", "").strip(),
        action_server_token=env.get("ACTION_SERVER_TOKEN", "").strip(),
        support_db_url=env.get("SUPPORT_DB_URL", "").strip()
        or _sqlite_url(var_dir / "support.db"),
        shop_db_url=env.get("SHOP_DB_URL", "").strip() or _sqlite_url(var_dir / "shop.db"),
        tracker_db_url=env.get("TRACKER_DB_URL", "").strip()
        or _sqlite_url(var_dir / "tracker.db"),
        public_base_url=public_base_url,
        timezone=env.get("SERVICE_TIMEZONE", "").strip() or "Europe/Berlin",
        holiday_country=env.get("SERVICE_HOLIDAY_COUNTRY", "").strip() or "DE",
        handoff_wait_minutes=_int(env, "HANDOFF_WAIT_MINUTES", 10),
        order_lookup_max_failures=_positive(env, "ORDER_LOOKUP_MAX_FAILURES", 5),
        order_lookup_window_minutes=_positive(env, "ORDER_LOOKUP_WINDOW_MINUTES", 60),
        order_lookup_lock_minutes=_positive(env, "ORDER_LOOKUP_LOCK_MINUTES", 1440),
        inbox_secret_key=env.get("INBOX_SECRET_KEY", "").strip(),
        inbox_cookie_secure=_flag(
            env, "INBOX_COOKIE_SECURE", public_base_url.lower().startswith("https://")
        ),
        inbox_trusted_proxies=_networks(env, "INBOX_TRUSTED_PROXIES"),
        event_broker_db_url=env.get("EVENT_BROKER_DB_URL", "").strip(),
        lock_store_redis_url=env.get("LOCK_STORE_REDIS_URL", "").strip(),
        event_broker_amqp_url=env.get("EVENT_BROKER_AMQP_URL", "").strip(),
        event_broker_queue=env.get("EVENT_BROKER_QUEUE", "").strip() or "paula-events",
        live_updates_redis_url=env.get("LIVE_UPDATES_REDIS_URL", "").strip(),
        rasa_instance_urls=_urls(env, "RASA_INSTANCE_URLS"),
        answers_refresh_seconds=float(max(1, _int(env, "FAQ_ANSWERS_REFRESH_SECONDS", 2))),
        retention_days=_non_negative(env, "RETENTION_DAYS", 180),
        log_pseudonym_key=env.get("LOG_PSEUDONYM_KEY", "").strip(),
        inbound_max_chars=inbound_max_chars,
        telegram=telegram,
        whatsapp=whatsapp,
        alerts=_alert_settings(env, telegram is not None),
        meta=meta,
        model_dir=Path(env.get("BOT_MODEL_DIR") or PROJECT_ROOT / "models").resolve(),
        # config.yml loads the pipeline by this relative path (var/spacy_de from the project).
        spacy_model_dir=PROJECT_ROOT / "var" / "spacy_de",
        extra=dict(env),
    )


__all__ = [
    "PROJECT_ROOT",
    "AlertSettings",
    "Settings",
    "TelegramSettings",
    "WhatsAppSettings",
    "load_environment",
    "load_settings",
    "read_dotenv",
]
