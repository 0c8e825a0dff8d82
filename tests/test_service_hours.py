from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from bot.service_hours import ServiceHours

BERLIN = ZoneInfo("Europe/Berlin")
hours = ServiceHours()


@pytest.mark.parametrize(
    ("moment", "is_open"),
    [
        (datetime(2026, 11, 23, 7, 59, tzinfo=BERLIN), False),  # Monday before 8
        (datetime(2026, 11, 23, 8, 0, tzinfo=BERLIN), True),
        (datetime(2026, 11, 23, 17, 59, tzinfo=BERLIN), True),
        (datetime(2026, 11, 23, 18, 0, tzinfo=BERLIN), False),
        (datetime(2026, 11, 28, 9, 30, tzinfo=BERLIN), True),  # Saturday 9-14
        (datetime(2026, 11, 28, 14, 0, tzinfo=BERLIN), False),
        (datetime(2026, 11, 29, 12, 0, tzinfo=BERLIN), False),  # Sunday
        (datetime(2026, 12, 25, 12, 0, tzinfo=BERLIN), False),  # Christmas (Friday)
        (datetime(2026, 10, 3, 10, 0, tzinfo=BERLIN), False),  # German Unity Day (Saturday)
        (datetime(2026, 5, 14, 10, 0, tzinfo=BERLIN), False),  # Ascension Day (Thursday)
    ],
)
def test_open_by_week_and_national_holidays(moment: datetime, is_open: bool) -> None:
    assert hours.is_open(moment) is is_open


def test_naive_times_are_utc() -> None:
    # 07:30 UTC in November is 08:30 in Berlin: open.
    assert hours.is_open(datetime(2026, 11, 23, 7, 30))


def test_next_opening_skips_sunday_and_holidays() -> None:
    saturday_evening = datetime(2026, 12, 19, 20, 0, tzinfo=BERLIN)
    assert hours.next_opening(saturday_evening) == datetime(2026, 12, 21, 8, 0, tzinfo=BERLIN)
    christmas_eve_evening = datetime(2026, 12, 24, 19, 0, tzinfo=BERLIN)  # 25th and 26th closed
    assert hours.next_opening(christmas_eve_evening).date().isoformat() == "2026-12-28"


def test_next_opening_is_described_in_german() -> None:
    friday_night = datetime(2026, 11, 27, 22, 0, tzinfo=BERLIN)
    assert hours.describe_next_opening(friday_night) == "morgen (Samstag) ab 9 Uhr"
    early_monday = datetime(2026, 11, 23, 6, 0, tzinfo=BERLIN)
    assert hours.describe_next_opening(early_monday) == "heute ab 8 Uhr"
    saturday_evening = datetime(2026, 11, 28, 18, 0, tzinfo=BERLIN)
    assert hours.describe_next_opening(saturday_evening) == "am Montag, 30.11., ab 8 Uhr"
