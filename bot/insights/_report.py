"""The figures of the weekly report / Trends page, from the hourly aggregates.

Everything comes from ``insight_counts`` (see :mod:`bot.insights._signals` for what is
counted), the masked samples and the alerts; nothing is estimated. Blocking: call it in a
worker thread.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Dict, List, Optional, Tuple
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.insights._clusters import Cluster, cluster
from bot.insights._models import Alert, SignalCount, SignalSample

VOLUME_KINDS = ("conversation", "message", "topic", "order_lookup", "complaint", "ask_back",
                "unanswered", "handoff", "rating")


@dataclass
class TopicTrend:
    topic: str
    current: int
    previous: int

    @property
    def change(self) -> int:
        return self.current - self.previous


@dataclass
class Report:
    start: datetime  # naive UTC
    end: datetime
    zone: str
    days: List[date] = field(default_factory=list)
    daily: Dict[str, Dict[date, int]] = field(default_factory=dict)  # kind -> day -> count
    totals: Dict[str, int] = field(default_factory=dict)
    previous_totals: Dict[str, int] = field(default_factory=dict)
    topics: List[TopicTrend] = field(default_factory=list)  # by current count
    handoff_reasons: List[Tuple[str, int]] = field(default_factory=list)
    ratings: Dict[int, int] = field(default_factory=dict)
    helpful: Dict[str, Tuple[int, int]] = field(default_factory=dict)  # topic -> (👍, 👎)
    unanswered: List[Cluster] = field(default_factory=list)
    alerts: List[Tuple[datetime, str]] = field(default_factory=list)  # (created, first line)

    @property
    def automation_rate(self) -> Optional[float]:
        """Share of conversations that ended without a handoff."""
        conversations = self.totals.get("conversation", 0)
        if not conversations:
            return None
        return max(0.0, 1 - self.totals.get("handoff", 0) / conversations)

    @property
    def rating_count(self) -> int:
        return sum(self.ratings.values())

    @property
    def rating_mean(self) -> Optional[float]:
        count = self.rating_count
        return sum(k * v for k, v in self.ratings.items()) / count if count else None

    @property
    def helpfulness(self) -> List[Tuple[str, int, int]]:
        """(topic, 👍, 👎) of the answers customers rated, the least helpful share first."""
        rows = [(topic, yes, no) for topic, (yes, no) in self.helpful.items()]
        return sorted(rows, key=lambda r: (r[1] / (r[1] + r[2]), -(r[1] + r[2]), r[0]))

    @property
    def rising(self) -> List[TopicTrend]:
        ups = [t for t in self.topics if t.change > 0]
        return sorted(ups, key=lambda t: (-t.change, t.topic))[:5]

    @property
    def falling(self) -> List[TopicTrend]:
        downs = [t for t in self.topics if t.change < 0]
        return sorted(downs, key=lambda t: (t.change, t.topic))[:5]


def _rows(session: Session, start: datetime, end: datetime) -> List[Tuple[datetime, str, str, int]]:
    return [
        (hour, kind, key, int(count)) for hour, kind, key, count in session.execute(
            select(SignalCount.hour, SignalCount.kind, SignalCount.key, SignalCount.count)
            .where(SignalCount.hour >= start, SignalCount.hour < end)
        )
    ]


def build_report(session: Session, start: datetime, end: datetime,
                 zone: str = "Europe/Berlin") -> Report:
    """Figures for [start, end) (naive UTC hours) compared with the period before."""
    tz = ZoneInfo(zone)
    report = Report(start=start, end=end, zone=zone)

    def local_day(moment: datetime) -> date:
        return moment.replace(tzinfo=timezone.utc).astimezone(tz).date()

    day = local_day(start)
    while day <= local_day(end - timedelta(seconds=1)):
        report.days.append(day)
        day += timedelta(days=1)
    daily: Dict[str, Dict[date, int]] = {kind: defaultdict(int) for kind in VOLUME_KINDS}
    totals: Dict[str, int] = defaultdict(int)
    topics: Dict[str, int] = defaultdict(int)
    reasons: Dict[str, int] = defaultdict(int)
    for hour, kind, key, count in _rows(session, start, end):
        totals[kind] += count
        if kind in daily:
            daily[kind][local_day(hour)] += count
        if kind == "topic":
            topics[key] += count
        elif kind == "handoff":
            reasons[key] += count
        elif kind == "rating" and key.isdigit():
            report.ratings[int(key)] = report.ratings.get(int(key), 0) + count
        elif kind == "helpful" and ":" in key:
            topic, answer = key.rsplit(":", 1)
            yes, no = report.helpful.get(topic, (0, 0))
            report.helpful[topic] = (yes + count, no) if answer == "yes" else (yes, no + count)
    previous: Dict[str, int] = defaultdict(int)
    previous_topics: Dict[str, int] = defaultdict(int)
    for _hour, kind, key, count in _rows(session, start - (end - start), start):
        previous[kind] += count
        if kind == "topic":
            previous_topics[key] += count
    report.daily = {kind: dict(values) for kind, values in daily.items()}
    report.totals = dict(totals)
    report.previous_totals = dict(previous)
    report.topics = sorted(
        (TopicTrend(t, topics.get(t, 0), previous_topics.get(t, 0))
         for t in set(topics) | set(previous_topics)),
        key=lambda t: (-t.current, t.topic),
    )
    report.handoff_reasons = sorted(reasons.items(), key=lambda item: (-item[1], item[0]))
    texts = list(session.execute(
        select(SignalSample.text).where(SignalSample.kind == "unanswered",
                                        SignalSample.hour >= start, SignalSample.hour < end)
        .order_by(SignalSample.id)
    ).scalars())
    report.unanswered = cluster([str(text) for text in texts])
    report.alerts = [
        (alert.created_at, str(alert.text).splitlines()[1] if "\n" in alert.text else alert.text)
        for alert in session.execute(
            select(Alert).where(Alert.started_at >= start, Alert.started_at < end)
            .order_by(Alert.started_at)
        ).scalars()
    ]
    return report


__all__ = ["Report", "TopicTrend", "VOLUME_KINDS", "build_report"]
