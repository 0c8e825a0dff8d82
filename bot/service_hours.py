"""Customer-service opening hours: Mo–Fr 8–18, Sa 9–14, Europe/Berlin, closed on public holidays."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import Any, Callable, Optional, Tuple
from zoneinfo import ZoneInfo

Clock = Callable[[], datetime]

# weekday() -> (opens, closes); Sunday closed.
DEFAULT_WEEK: dict[int, tuple[time, time]] = {
    0: (time(8), time(18)),
    1: (time(8), time(18)),
    2: (time(8), time(18)),
    3: (time(8), time(18)),
    4: (time(8), time(18)),
    5: (time(9), time(14)),
}

WEEKDAY_NAMES_DE = ["Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag", "Sonntag"]
# The hours in words, as customers read them in the handoff and waiting notices.
HOURS_DE = "Mo–Fr 8–18 Uhr, Sa 9–14 Uhr"
HOURS_EN = "Mon–Fri 8:00–18:00, Sat 9:00–14:00, German time"
WEEKDAY_NAMES_EN = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


@lru_cache(maxsize=16)
def _holiday_calendar(country: str, year: int) -> Any:
    """Nationwide public holidays from the maintained ``holidays`` package (German names)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # its 1.0 announcement
        import holidays

        return holidays.country_holidays(country, years=year, language="de")


@dataclass(frozen=True)
class ServiceHours:
    """When people are there to answer. ``now`` values may be naive UTC or timezone-aware."""

    timezone: str = "Europe/Berlin"
    country: str = "DE"
    week: Optional[dict[int, tuple[time, time]]] = None

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def _local(self, now: datetime) -> datetime:
        if now.tzinfo is None:
            now = now.replace(tzinfo=ZoneInfo("UTC"))
        return now.astimezone(self.zone)

    def holiday_name(self, day: date) -> Optional[str]:
        """The name of a nationwide public holiday on ``day``, else None."""
        name = _holiday_calendar(self.country, day.year).get(day)
        return str(name) if name else None

    def _hours(self, day: date) -> Optional[tuple[time, time]]:
        if self.holiday_name(day):
            return None
        return (self.week or DEFAULT_WEEK).get(day.weekday())

    def is_open(self, now: datetime) -> bool:
        local = self._local(now)
        hours = self._hours(local.date())
        return hours is not None and hours[0] <= local.time() < hours[1]

    def next_opening(self, now: datetime) -> datetime:
        """The next moment service opens (``now`` itself if already open), local time."""
        local = self._local(now)
        for offset in range(0, 15):
            day = local.date() + timedelta(days=offset)
            hours = self._hours(day)
            if hours is None:
                continue
            opens = datetime.combine(day, hours[0], tzinfo=self.zone)
            closes = datetime.combine(day, hours[1], tzinfo=self.zone)
            if local < opens:
                return opens
            if local < closes:
                return local
        raise RuntimeError("no opening within two weeks; check the service hours")

    def _next_opening_in_days(self, now: datetime) -> Tuple[datetime, int]:
        """The next opening, and in how many calendar days from ``now`` (local time) it is."""
        opening = self.next_opening(now)
        return opening, (opening.date() - self._local(now).date()).days

    def describe_next_opening_en(self, now: datetime) -> str:
        """The same in English, e.g. 'tomorrow (Tuesday) from 8:00'."""
        opening, days = self._next_opening_in_days(now)
        hour = f"{opening.hour}:{opening.minute:02d}"
        day = WEEKDAY_NAMES_EN[opening.weekday()]
        if days == 0:
            return f"today from {hour}"
        if days == 1:
            return f"tomorrow ({day}) from {hour}"
        return f"on {day}, {opening:%d.%m.}, from {hour}"

    def describe_next_opening(self, now: datetime) -> str:
        """German words for when a person will answer, e.g. 'morgen (Dienstag) ab 8 Uhr'."""
        opening, days = self._next_opening_in_days(now)
        hour = f"{opening.hour} Uhr" if opening.minute == 0 else opening.strftime("%H:%M Uhr")
        if days == 0:
            return f"heute ab {hour}"
        if days == 1:
            return f"morgen ({WEEKDAY_NAMES_DE[opening.weekday()]}) ab {hour}"
        return f"am {WEEKDAY_NAMES_DE[opening.weekday()]}, {opening:%d.%m.}, ab {hour}"
