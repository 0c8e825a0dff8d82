"""Alerts from spikes: German text with masked examples, no repeat for the same spike, and
delivery per target (Telegram, e-mail, webhook) with retries and backoff.

State lives in ``insight_alerts`` and ``insight_alert_deliveries``: a spike of a series that
already has an alert seen within :data:`COOLDOWN` only extends that alert. Deliveries are
attempted outside database transactions, each with a timeout, in the insights worker thread —
a slow or failing target never touches the customer-facing processes.
"""

from __future__ import annotations

import json
import logging
import smtplib
import ssl
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from typing import Callable, Dict, List, Optional, Tuple
from urllib.parse import unquote, urlsplit
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.database import transaction
from bot.insights._detect import Spike
from bot.insights._labels import german_number, series_label
from bot.insights._models import Alert, AlertDelivery, SignalSample
from bot.settings import Settings

logger = logging.getLogger(__name__)

COOLDOWN = timedelta(hours=6)
MAX_ATTEMPTS = 8
FIRST_RETRY = timedelta(seconds=30)
MAX_RETRY = timedelta(hours=1)
SEND_TIMEOUT = 10.0
EXAMPLES = 3


def targets(settings: Settings) -> List[str]:
    alerts = settings.alerts
    names = []
    if alerts.telegram_chat_id and settings.telegram is not None:
        names.append("telegram")
    if alerts.smtp_url and alerts.email_to:
        names.append("email")
    if alerts.webhook_url:
        names.append("webhook")
    return names


def _local(moment: datetime, zone: str) -> datetime:
    return moment.replace(tzinfo=timezone.utc).astimezone(ZoneInfo(zone))


def examples(session: Session, spike: Spike) -> List[str]:
    query = (select(SignalSample.text)
             .where(SignalSample.kind == spike.kind, SignalSample.hour >= spike.start,
                    SignalSample.hour <= spike.hour)
             .order_by(SignalSample.id.desc()))
    if spike.kind == "topic":
        query = query.where(SignalSample.key == spike.key)
    found: List[str] = []
    for text in session.execute(query.limit(50)).scalars():
        if str(text) not in found:
            found.append(str(text))
    return found[:EXAMPLES]


def alert_text(spike: Spike, samples: List[str], zone: str) -> str:
    """'Beschädigte Pakete: 14 seit 10 Uhr, sonst 3 (4,7×)' plus masked examples."""
    start = _local(spike.start, zone)
    usual = german_number(spike.expected, 0 if spike.expected >= 10 else 1).replace(",0", "")
    lines = [
        "⚠️ Frühwarnung von Paula",
        f"{series_label(spike.kind, spike.key)}: {spike.observed} seit {start.hour} Uhr, "
        f"sonst {usual} ({german_number(spike.ratio)}×)",
    ]
    if samples:
        lines.append("Beispiele (anonymisiert):")
        lines.extend(f"• „{sample}“" for sample in samples)
    chance = f"{spike.p_value:.1e}".replace(".", ",")
    lines.append(f"(Wahrscheinlichkeit, dass das Zufall ist: p = {chance})")
    return "\n".join(lines)


def record_spikes(session: Session, spikes: List[Spike], settings: Settings,
                  now: datetime) -> List[Alert]:
    """New alerts for new spikes (ongoing ones are only extended); deliveries queued."""
    created = []
    names = targets(settings)
    for spike in spikes:
        previous = session.execute(
            select(Alert).where(Alert.kind == spike.kind, Alert.key == spike.key)
            .order_by(Alert.last_hour.desc()).limit(1)
        ).scalars().first()
        if previous is not None and previous.last_hour >= spike.start - COOLDOWN:
            previous.last_hour = max(previous.last_hour, spike.hour)
            continue
        text = alert_text(spike, examples(session, spike), settings.timezone)
        alert = Alert(kind=spike.kind, key=spike.key, started_at=spike.start,
                      last_hour=spike.hour, observed=spike.observed,
                      expected=spike.expected, p_value=spike.p_value, text=text,
                      created_at=now)
        session.add(alert)
        session.flush()
        for name in names:
            session.add(AlertDelivery(alert_id=alert.id, target=name, next_attempt_at=now))
        logger.warning("insights alert %s: %s", alert.id, text.splitlines()[1])
        created.append(alert)
    return created


def in_quiet_hours(now: datetime, settings: Settings) -> bool:
    quiet = settings.alerts.quiet_hours
    if quiet is None:
        return False
    hour = _local(now, settings.timezone).hour
    start, end = quiet
    return start <= hour < end if start < end else hour >= start or hour < end


# --- senders (blocking; called in the worker thread, each with a timeout) -------------------

def _post_json(url: str, body: Dict[str, object]) -> bytes:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode("utf-8"),
        headers={"Content-Type": "application/json"}, method="POST",
    )
    with urllib.request.urlopen(request, timeout=SEND_TIMEOUT) as response:  # noqa: S310
        return bytes(response.read())


def send_telegram(settings: Settings, text: str) -> None:
    if settings.telegram is None:
        raise RuntimeError("the Telegram channel is not configured")
    base = settings.telegram.api_base_url.rstrip("/")
    answer = _post_json(f"{base}/bot{settings.telegram.token}/sendMessage",
                        {"chat_id": settings.alerts.telegram_chat_id, "text": text,
                         "disable_web_page_preview": True})
    if not json.loads(answer or b"{}").get("ok"):
        raise RuntimeError("Telegram did not accept the message")


def send_webhook(settings: Settings, text: str) -> None:
    _post_json(settings.alerts.webhook_url, {"text": text})


def send_email(settings: Settings, text: str) -> None:
    alerts = settings.alerts
    url = urlsplit(alerts.smtp_url)
    secure = url.scheme == "smtps"
    host = url.hostname or "localhost"
    port = url.port or (465 if secure else 25)
    message = EmailMessage()
    message["Subject"] = "Paula-Frühwarnung: " + (text.splitlines()[1:2] or ["Auffälligkeit"])[0]
    message["From"] = alerts.email_from
    message["To"] = ", ".join(alerts.email_to)
    message.set_content(text)
    context = ssl.create_default_context()
    client: smtplib.SMTP = (smtplib.SMTP_SSL(host, port, timeout=SEND_TIMEOUT, context=context)
                            if secure else smtplib.SMTP(host, port, timeout=SEND_TIMEOUT))
    with client:
        client.ehlo()
        if not secure and client.has_extn("starttls"):
            client.starttls(context=context)
            client.ehlo()
        if url.username:
            client.login(unquote(url.username), unquote(url.password or ""))
        client.send_message(message)


Sender = Callable[[Settings, str], None]
SENDERS: Dict[str, Sender] = {
    "telegram": send_telegram, "email": send_email, "webhook": send_webhook,
}


@dataclass(frozen=True)
class DeliveryResult:
    sent: int = 0
    failed: int = 0


def _describe(error: BaseException) -> str:
    """One line without URLs (the Telegram URL carries the bot token)."""
    if isinstance(error, urllib.error.HTTPError):
        return f"HTTP {error.code}"
    if isinstance(error, urllib.error.URLError):
        return f"{type(error.reason).__name__}: {error.reason}"[:200]
    return f"{type(error).__name__}: {error}"[:200]


def backoff(attempts: int) -> timedelta:
    return min(MAX_RETRY, FIRST_RETRY * (2 ** max(0, attempts - 1)))


def deliver_due(sessions: "sessionmaker[Session]", settings: Settings, now: datetime,
                senders: Optional[Dict[str, Sender]] = None) -> DeliveryResult:
    """Send what is due (not during quiet hours); failures are retried with backoff."""
    if in_quiet_hours(now, settings):
        return DeliveryResult()
    senders = senders or SENDERS
    with transaction(sessions) as session:
        due: List[Tuple[int, str, str, datetime]] = [
            (delivery.id, delivery.target, alert.text, alert.created_at)
            for delivery, alert in session.execute(
                select(AlertDelivery, Alert).join(Alert, Alert.id == AlertDelivery.alert_id)
                .where(AlertDelivery.status == "pending", AlertDelivery.next_attempt_at <= now)
                .order_by(AlertDelivery.id).limit(50)
            )
        ]
    sent = failed = 0
    for delivery_id, target, text, created in due:
        if created < now - timedelta(minutes=30):
            held = _local(created, settings.timezone)
            text = f"{text}\n(erkannt am {held:%d.%m.} um {held:%H:%M} Uhr)"
        error: Optional[BaseException] = None
        try:
            sender = senders.get(target)
            if sender is None:
                raise RuntimeError(f"unknown alert target {target!r}")
            sender(settings, text)
        except Exception as problem:  # any failure of a target: retry later, log
            error = problem
        with transaction(sessions) as session:
            delivery = session.get(AlertDelivery, delivery_id)
            if delivery is None:
                continue
            delivery.attempts = int(delivery.attempts) + 1
            if error is None:
                delivery.status, delivery.sent_at, delivery.last_error = "sent", now, None
                sent += 1
                continue
            failed += 1
            delivery.last_error = _describe(error)
            if delivery.attempts >= MAX_ATTEMPTS:
                delivery.status = "failed"
                logger.error("alert delivery %s to %s failed for good after %s attempts: %s",
                             delivery_id, target, delivery.attempts, delivery.last_error)
            else:
                delivery.next_attempt_at = now + backoff(int(delivery.attempts))
                logger.warning("alert delivery %s to %s failed (attempt %s, next try at %s): "
                               "%s", delivery_id, target, delivery.attempts,
                               delivery.next_attempt_at.strftime("%H:%M:%S"),
                               delivery.last_error)
    return DeliveryResult(sent, failed)


__all__ = ["COOLDOWN", "SENDERS", "alert_text", "backoff", "deliver_due", "in_quiet_hours",
           "record_spikes", "targets"]
