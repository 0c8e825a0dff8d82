"""The insight tables in the support database (on :data:`bot.models.SupportBase`)."""

from __future__ import annotations

from sqlalchemy import Column, DateTime, Float, ForeignKey, Integer, String, Text

from bot.models import SupportBase, utcnow


class SignalCount(SupportBase):
    """How often a signal happened in one hour (naive UTC, start of the hour)."""

    __tablename__ = "insight_counts"

    hour = Column(DateTime, primary_key=True)
    kind = Column(String(32), primary_key=True)
    key = Column(String(100), primary_key=True, default="")
    count = Column(Integer, nullable=False, default=0)


class SignalSample(SupportBase):
    """A masked customer message behind a signal (examples in alerts, unanswered clusters)."""

    __tablename__ = "insight_samples"

    id = Column(Integer, primary_key=True)
    hour = Column(DateTime, nullable=False, index=True)
    kind = Column(String(32), nullable=False)
    key = Column(String(100), nullable=False, default="")
    text = Column(Text, nullable=False)  # masked (bot/insights/_mask.py)


class Alert(SupportBase):
    """One early warning: a series clearly above its normal level since ``started_at``."""

    __tablename__ = "insight_alerts"

    id = Column(Integer, primary_key=True)
    kind = Column(String(32), nullable=False, index=True)
    key = Column(String(100), nullable=False, default="")
    started_at = Column(DateTime, nullable=False)  # first hour of the spike (UTC)
    last_hour = Column(DateTime, nullable=False)  # latest hour the spike was still seen
    observed = Column(Integer, nullable=False)
    expected = Column(Float, nullable=False)
    p_value = Column(Float, nullable=False)
    text = Column(Text, nullable=False)
    created_at = Column(DateTime, nullable=False, default=utcnow)


class AlertDelivery(SupportBase):
    """Delivery of one alert to one target (telegram, email, webhook), retried with backoff."""

    __tablename__ = "insight_alert_deliveries"

    id = Column(Integer, primary_key=True)
    alert_id = Column(Integer, ForeignKey("insight_alerts.id", ondelete="CASCADE"),
                      nullable=False, index=True)
    target = Column(String(16), nullable=False)
    status = Column(String(16), nullable=False, default="pending")  # pending/sent/failed
    attempts = Column(Integer, nullable=False, default=0)
    next_attempt_at = Column(DateTime, nullable=False, default=utcnow)
    last_error = Column(Text, nullable=True)
    sent_at = Column(DateTime, nullable=True)


__all__ = ["Alert", "AlertDelivery", "SignalCount", "SignalSample"]
