"""Jinja2 templates (autoescaped: customer text is always shown as text) and display helpers."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Optional
from zoneinfo import ZoneInfo

import jinja2

from bot.inbox._transcript import REASON_LABELS
from bot.models import HandoffStatus
from channels.registry import channel_group, labels

TEMPLATES_DIR = Path(__file__).with_name("templates")

CHANNEL_LABELS = labels()
STATUS_LABELS = {
    HandoffStatus.OPEN.value: "Offen",
    HandoffStatus.ASSIGNED.value: "In Bearbeitung",
    HandoffStatus.SNOOZED.value: "Zurückgestellt",
    HandoffStatus.RESOLVED.value: "Erledigt",
}


def make_environment(zone: str, clock: Callable[[], datetime]) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES_DIR)),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    tz = ZoneInfo(zone)

    def local(moment: Optional[datetime]) -> Optional[datetime]:
        if moment is None:
            return None
        return moment.replace(tzinfo=timezone.utc).astimezone(tz)

    def clock_time(moment: Optional[datetime]) -> str:
        shown = local(moment)
        if shown is None:
            return ""
        now = local(clock())
        if now is not None and shown.date() == now.date():
            return shown.strftime("%H:%M")
        return shown.strftime("%d.%m. %H:%M")

    def full_time(moment: Optional[datetime]) -> str:
        shown = local(moment)
        return shown.strftime("%d.%m.%Y %H:%M") if shown else ""

    def ago(moment: Optional[datetime]) -> str:
        if moment is None:
            return ""
        minutes = int(max(0.0, (clock() - moment).total_seconds()) // 60)
        if minutes < 1:
            return "gerade eben"
        if minutes < 60:
            return f"{minutes} Min."
        hours = minutes // 60
        if hours < 24:
            return f"{hours} Std. {minutes % 60} Min." if minutes % 60 else f"{hours} Std."
        return f"{hours // 24} Tg."

    def minutes(value: Optional[float]) -> str:
        if value is None:
            return "–"
        if value < 60:
            return f"{value:.0f} Min." if value >= 1 else "< 1 Min."
        return f"{value / 60:.1f} Std.".replace(".", ",")

    def percent(value: Optional[float]) -> str:
        return "–" if value is None else f"{value * 100:.0f} %"

    def number(value: Optional[float], digits: int = 1) -> str:
        return "–" if value is None else f"{value:.{digits}f}".replace(".", ",")

    env.filters.update(
        clock_time=clock_time,
        full_time=full_time,
        ago=ago,
        minutes=minutes,
        percent=percent,
        number=number,
        channel=lambda name: CHANNEL_LABELS.get(channel_group(name), name),
        channel_key=channel_group,
        reason=lambda name: REASON_LABELS.get(name, name),
        status=lambda name: STATUS_LABELS.get(name, name),
        weekday=lambda day: ["Mo", "Di", "Mi", "Do", "Fr", "Sa", "So"][day.weekday()]
        + day.strftime(" %d.%m."),
    )
    return env


def render(env: jinja2.Environment, template: str, **context: Any) -> str:
    return env.get_template(template).render(**context)
