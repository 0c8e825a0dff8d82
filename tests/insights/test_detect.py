"""The early-warning test on generated history: the planted spike is found within the hour it
starts, flat noisy traffic raises no alert, a spike is reported once."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select

from bot.database import transaction
from bot.insights._detect import detect
from bot.insights._models import Alert, AlertDelivery
from bot.insights._scenario import incident_start, plan
from bot.insights._worker import Insights, thresholds
from tests.insights._history import settings_for, write_history

END = datetime(2026, 11, 26, 23, 0)  # a Thursday night (UTC); the incident is Tuesday 10 Uhr


def test_planted_spike_is_detected_within_the_hour_it_starts(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    start = incident_start(END)
    # Everything up to the end of the incident's first hour, nothing after.
    write_history(settings, plan(30, end=END, seed=7), until=start + timedelta(hours=1))
    insights = Insights.open(settings)
    try:
        insights.aggregate()
        with transaction(insights.sessions) as session:
            before = detect(session, start - timedelta(hours=1), thresholds(settings))
            spikes = detect(session, start, thresholds(settings))
        assert before == []
        assert [(s.kind, s.key) for s in spikes] == [("topic", "damaged_parcel")]
        assert spikes[0].observed >= 5 and spikes[0].ratio >= 4
        alerts = insights.check(start + timedelta(minutes=59))
        assert len(alerts) == 1
        first_line = alerts[0].text.splitlines()[1]
        assert first_line.startswith(f"Beschädigte Pakete: {spikes[0].observed} seit 10 Uhr, ")
        assert "Jana" not in alerts[0].text and "1234567" not in alerts[0].text
        assert alerts[0].text.count("• „") == 3
    finally:
        insights.close()


def test_flat_noisy_traffic_raises_no_alert(tmp_path: Path) -> None:
    """30 days without incident, every hour of the last 23 days tested (one week of history
    needed first): not one alert, for two seeds."""
    tested = 0
    for seed in (1, 2):
        settings = settings_for(tmp_path / str(seed))
        write_history(settings, plan(30, end=END, seed=seed, incident=False))
        insights = Insights.open(settings)
        try:
            insights.aggregate()
            hour = END - timedelta(days=23)
            with transaction(insights.sessions) as session:
                while hour < END:
                    assert detect(session, hour, thresholds(settings)) == [], hour
                    hour += timedelta(hours=1)
                    tested += 1
        finally:
            insights.close()
    assert tested == 2 * 23 * 24


def test_one_spike_raises_one_alert_however_often_it_is_checked(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, ALERT_WEBHOOK_URL="http://127.0.0.1:9/unused")
    start = incident_start(END)
    write_history(settings, plan(30, end=END, seed=7))
    insights = Insights.open(settings)
    try:
        insights.aggregate()
        created = []
        for minutes in range(0, 8 * 60, 15):  # the 4 incident hours and 4 more, every 15 min
            created += insights.check(start + timedelta(minutes=minutes))
        assert len(created) == 1
        with transaction(insights.sessions) as session:
            assert session.execute(select(func.count(Alert.id))).scalar() == 1
            assert session.execute(select(func.count(AlertDelivery.id))).scalar() == 1
            alert = session.execute(select(Alert)).scalars().one()
            assert alert.last_hour >= start + timedelta(hours=3)
    finally:
        insights.close()
