"""Report figures as PNG (matplotlib, Agg backend: no display, safe in worker threads)."""

from __future__ import annotations

import base64
import io
import threading
from typing import Dict

from bot.insights._labels import KIND_LABELS, series_label
from bot.insights._report import Report

# pyplot keeps global state: one figure at a time per process.
_LOCK = threading.Lock()


def _png(figure: object) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90, bbox_inches="tight")  # type: ignore[attr-defined]
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def figures(report: Report) -> Dict[str, str]:
    """{name: base64 PNG}: daily volumes and the top topics."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    out: Dict[str, str] = {}
    with _LOCK:
        days = report.days
        labels = [day.strftime("%d.%m.") for day in days]
        figure, axis = pyplot.subplots(figsize=(8, 3.2))
        for kind in ("message", "conversation", "handoff", "unanswered", "complaint"):
            values = [report.daily.get(kind, {}).get(day, 0) for day in days]
            axis.plot(labels, values, marker="o", label=KIND_LABELS[kind])
        axis.set_ylabel("pro Tag")
        axis.legend(fontsize=8, loc="upper left")
        axis.tick_params(axis="x", labelrotation=45, labelsize=8)
        axis.grid(alpha=0.3)
        out["volumes"] = _png(figure)
        pyplot.close(figure)
        top = report.topics[:10][::-1]
        figure, axis = pyplot.subplots(figsize=(8, 3.6))
        names = [series_label("topic", t.topic) for t in top]
        axis.barh(names, [t.previous for t in top], height=0.4, align="edge",
                  label="Zeitraum davor", color="#bbbbbb")
        axis.barh(names, [t.current for t in top], height=-0.4, align="edge",
                  label="Zeitraum", color="#2f6f4f")
        axis.legend(fontsize=8, loc="lower right")
        axis.tick_params(axis="y", labelsize=8)
        out["topics"] = _png(figure)
        pyplot.close(figure)
    return out


__all__ = ["figures"]
