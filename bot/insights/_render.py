"""The report as HTML (autoescaped; customer text only as masked text) and CSV files."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Dict, List, Optional

import jinja2

from bot.insights._labels import KIND_LABELS, REASON_LABELS, german_number, series_label
from bot.insights._plots import figures
from bot.insights._report import VOLUME_KINDS, Report

TEMPLATES = Path(__file__).with_name("templates")


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), autoescape=True,
                             trim_blocks=True, lstrip_blocks=True,
                             undefined=jinja2.StrictUndefined)
    env.filters["de"] = german_number
    env.globals.update(kind_label=KIND_LABELS, reason_label=REASON_LABELS,
                       series_label=series_label, volume_kinds=VOLUME_KINDS)
    return env


def percent(value: Optional[float]) -> str:
    return "–" if value is None else german_number(100 * value) + " %"


def render_body(report: Report, images: Optional[Dict[str, str]] = None) -> str:
    """The report's sections as an HTML fragment (also the inbox's Trends page)."""
    return _environment().get_template("report_body.html").render(
        report=report, images=images if images is not None else figures(report),
        percent=percent)


def render_page(report: Report) -> str:
    return _environment().get_template("report.html").render(body=render_body(report),
                                                             report=report)


def write_csv(report: Report, out: Path) -> List[Path]:
    files = []

    def write(name: str, header: List[str], rows: List[List[object]]) -> None:
        path = out / name
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(header)
            writer.writerows(rows)
        files.append(path)

    write("volumes.csv", ["day", *VOLUME_KINDS],
          [[day.isoformat(), *[report.daily.get(k, {}).get(day, 0) for k in VOLUME_KINDS]]
           for day in report.days])
    write("totals.csv", ["signal", "count", "previous_period"],
          [[k, report.totals.get(k, 0), report.previous_totals.get(k, 0)] for k in VOLUME_KINDS])
    write("topics.csv", ["topic", "count", "previous_period", "change"],
          [[t.topic, t.current, t.previous, t.change] for t in report.topics])
    write("handoff_reasons.csv", ["reason", "count"], [list(r) for r in report.handoff_reasons])
    write("ratings.csv", ["rating", "count"], [[k, report.ratings.get(k, 0)] for k in range(1, 6)])
    write("helpfulness.csv", ["topic", "helpful", "not_helpful"],
          [[topic, yes, no] for topic, yes, no in report.helpfulness])
    write("unanswered_clusters.csv", ["size", "examples_masked"],
          [[c.size, " | ".join(c.examples)] for c in report.unanswered])
    write("alerts.csv", ["created_utc", "alert"],
          [[at.isoformat(), text] for at, text in report.alerts])
    return files


def write_report(report: Report, out: Path) -> List[Path]:
    """``report.html`` plus CSV files in ``out``; returns the files written."""
    out.mkdir(parents=True, exist_ok=True)
    page = out / "report.html"
    page.write_text(render_page(report), encoding="utf-8")
    return [page, *write_csv(report, out)]


__all__ = ["percent", "render_body", "render_page", "write_report"]
