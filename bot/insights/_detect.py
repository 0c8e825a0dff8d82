"""Early warning: is a series clearly above its own normal level right now?

For the window of the last 1–3 hours (ending at the hour evaluated) the observed count ``x`` is
compared with the same hours of the previous weeks (up to 4). The usual rate gets a gamma
posterior: the weekly counts plus a smoothed prior (the series' mean hourly rate of the previous
28 days, weighted like :data:`PRIOR_WEEKS` weeks, plus 0.5). The customer count then follows the
posterior predictive, a negative binomial; the p-value is its upper tail ``P(X >= x)``.

An alert needs all three: ``p < alpha / m`` (Bonferroni over the ``m`` series × windows tested
in that hour), ``x >= min_count`` and ``x / expected >= min_ratio``.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Dict, List, Optional, Tuple

from scipy.stats import nbinom
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.insights._models import SignalCount

WEEKS = 4
PRIOR_WEEKS = 1.0
WINDOWS = (1, 2, 3)
HOUR = timedelta(hours=1)
WEEK = timedelta(days=7)
# Series watched: every FAQ topic, complaints, handoffs (all reasons), unanswered messages.
WATCHED = ("topic", "complaint", "handoff", "unanswered")

Series = Tuple[str, str]  # (kind, key); key "" = all keys of the kind summed (except topics)


@dataclass(frozen=True)
class Thresholds:
    alpha: float = 0.001
    min_count: int = 5
    min_ratio: float = 2.0


@dataclass(frozen=True)
class Spike:
    kind: str
    key: str
    start: datetime  # first hour of the window (UTC)
    hour: datetime  # last hour of the window
    observed: int
    expected: float
    p_value: float

    @property
    def ratio(self) -> float:
        return self.observed / self.expected if self.expected > 0 else float("inf")


def p_value(observed: int, weekly: List[int], prior_rate: float) -> Tuple[float, float]:
    """Upper-tail p-value of ``observed`` and the expected count (negative binomial)."""
    shape = sum(weekly) + PRIOR_WEEKS * prior_rate + 0.5
    rate = len(weekly) + PRIOR_WEEKS
    expected = shape / rate
    if observed <= 0:
        return 1.0, expected
    return float(nbinom.sf(observed - 1, shape, rate / (rate + 1.0))), expected


def _load(session: Session, hour: datetime) -> Dict[Series, Dict[datetime, int]]:
    since = hour - WEEKS * WEEK - max(WINDOWS) * HOUR
    series: Dict[Series, Dict[datetime, int]] = defaultdict(lambda: defaultdict(int))
    for at, kind, key, count in session.execute(
        select(SignalCount.hour, SignalCount.kind, SignalCount.key, SignalCount.count)
        .where(SignalCount.hour >= since, SignalCount.hour <= hour,
               SignalCount.kind.in_(WATCHED))
    ):
        name = (kind, key if kind == "topic" else "")
        series[name][at] += int(count)
    return series


def history_weeks(session: Session, hour: datetime) -> int:
    """Full weeks of data before ``hour`` (0–4): without one week there is nothing to compare."""
    first = session.execute(select(func.min(SignalCount.hour))).scalar()
    if first is None:
        return 0
    return max(0, min(WEEKS, int((hour - first) / WEEK)))


def _trim_start(counts: Dict[datetime, int], hours: List[datetime], weeks: int,
                mean_rate: float, ratio: float) -> datetime:
    """The first hour of the window that is itself raised (for "seit 10 Uhr")."""
    for at in reversed(hours[1:]):  # oldest first; the newest hour always stays
        weekly = [counts.get(at - w * WEEK, 0) for w in range(1, weeks + 1)]
        _, usual = p_value(0, weekly, mean_rate)
        if counts.get(at, 0) >= ratio * usual and counts.get(at, 0) >= 2:
            return at
    return hours[0]


def detect(session: Session, hour: datetime, thresholds: Thresholds) -> List[Spike]:
    """Series clearly above their normal level in a window ending at ``hour`` (UTC)."""
    weeks = history_weeks(session, hour)
    if weeks == 0:
        return []
    data = _load(session, hour)
    tests = max(1, len(data) * len(WINDOWS))
    level = thresholds.alpha / tests
    spikes = []
    for (kind, key), counts in sorted(data.items()):
        history_hours = weeks * 7 * 24
        mean_rate = sum(c for at, c in counts.items() if at < hour - 2 * HOUR
                        and at >= hour - weeks * WEEK) / history_hours
        best: Optional[Spike] = None
        for length in WINDOWS:
            hours = [hour - i * HOUR for i in range(length)]
            observed = sum(counts.get(at, 0) for at in hours)
            if observed < thresholds.min_count:
                continue
            weekly = [sum(counts.get(at - w * WEEK, 0) for at in hours)
                      for w in range(1, weeks + 1)]
            p, expected = p_value(observed, weekly, mean_rate * length)
            if p < level and observed / expected >= thresholds.min_ratio:
                start = _trim_start(counts, hours, weeks, mean_rate, thresholds.min_ratio)
                spike = Spike(kind, key, start, hour, observed, expected, p)
                if best is None or p < best.p_value:
                    best = spike
        if best is not None:
            spikes.append(best)
    return spikes


__all__ = ["Spike", "Thresholds", "WATCHED", "detect", "history_weeks", "p_value"]
