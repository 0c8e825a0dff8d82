"""Figures for the managers' overview: per day, from the support database."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from statistics import mean, median
from typing import Dict, List, Optional
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from bot.models import Handoff, HandoffStatus
from channels.registry import channel_group


@dataclass
class Day:
    day: date
    handoffs: int = 0
    by_reason: Counter = field(default_factory=Counter)
    by_channel: Counter = field(default_factory=Counter)
    first_reply_minutes: Optional[float] = None
    handling_minutes: Optional[float] = None
    csat: Optional[float] = None
    ratings: int = 0
    open_queue: int = 0


@dataclass
class Overview:
    days: List[Day]
    reasons: List[str]
    channels: List[str]
    open_now: int
    total_handoffs: int
    first_reply_minutes: Optional[float]
    handling_minutes: Optional[float]
    csat: Optional[float]
    ratings: int


def _minutes(later: Optional[datetime], earlier: Optional[datetime]) -> Optional[float]:
    if later is None or earlier is None:
        return None
    return max(0.0, (later - earlier).total_seconds() / 60)


def _median(values: List[float]) -> Optional[float]:
    return round(median(values), 1) if values else None


def overview(session: Session, now: datetime, zone: str, days: int = 14) -> Overview:
    """``now`` naive UTC; days are local calendar days in ``zone``."""
    tz = ZoneInfo(zone)

    def local_day(moment: datetime) -> date:
        return moment.replace(tzinfo=timezone.utc).astimezone(tz).date()

    def day_end_utc(day: date) -> datetime:
        end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz)
        return end.astimezone(timezone.utc).replace(tzinfo=None)

    today = local_day(now)
    first_day = today - timedelta(days=days - 1)
    start = datetime.combine(first_day, time(0), tzinfo=tz).astimezone(timezone.utc).replace(
        tzinfo=None
    )
    handoffs = session.execute(
        select(Handoff).where(or_(Handoff.created_at >= start,
                                  Handoff.status != HandoffStatus.RESOLVED,
                                  Handoff.resolved_at >= start))
    ).scalars().all()
    table: Dict[date, Day] = {
        first_day + timedelta(days=offset): Day(first_day + timedelta(days=offset))
        for offset in range(days)
    }
    first_replies: Dict[date, List[float]] = {}
    handling: Dict[date, List[float]] = {}
    ratings: Dict[date, List[int]] = {}
    for handoff in handoffs:
        created = local_day(handoff.created_at)
        if created in table:
            entry = table[created]
            entry.handoffs += 1
            entry.by_reason[handoff.reason] += 1
            entry.by_channel[channel_group(handoff.channel)] += 1
            waited = _minutes(handoff.first_reply_at, handoff.created_at)
            if waited is not None:
                first_replies.setdefault(created, []).append(waited)
        if handoff.resolved_at is not None:
            resolved = local_day(handoff.resolved_at)
            if resolved in table:
                took = _minutes(handoff.resolved_at, handoff.claimed_at)
                if took is not None:
                    handling.setdefault(resolved, []).append(took)
                if handoff.rating is not None:
                    ratings.setdefault(resolved, []).append(int(handoff.rating))
        for day, entry in table.items():
            end = min(day_end_utc(day), now)
            still_open = handoff.resolved_at is None or handoff.resolved_at > end
            if handoff.created_at <= end and still_open:
                entry.open_queue += 1
    for day, entry in table.items():
        entry.first_reply_minutes = _median(first_replies.get(day, []))
        entry.handling_minutes = _median(handling.get(day, []))
        day_ratings = ratings.get(day, [])
        entry.csat = round(mean(day_ratings), 2) if day_ratings else None
        entry.ratings = len(day_ratings)
    all_first = [v for values in first_replies.values() for v in values]
    all_handling = [v for values in handling.values() for v in values]
    all_ratings = [v for values in ratings.values() for v in values]
    ordered = [table[day] for day in sorted(table)]
    reasons = sorted({r for d in ordered for r in d.by_reason})
    channels = sorted({c for d in ordered for c in d.by_channel})
    return Overview(
        days=ordered,
        reasons=reasons,
        channels=channels,
        open_now=sum(1 for h in handoffs if h.status != HandoffStatus.RESOLVED),
        total_handoffs=sum(d.handoffs for d in ordered),
        first_reply_minutes=_median(all_first),
        handling_minutes=_median(all_handling),
        csat=round(mean(all_ratings), 2) if all_ratings else None,
        ratings=len(all_ratings),
    )
