"""Bar-chart geometry for the overview page (rendered as inline SVG by the template)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

WIDTH = 560
HEIGHT = 160
BOTTOM = 24
PALETTE = ["#2f6b4f", "#d08a2c", "#4a7fc1", "#b5484b", "#7a5ea8", "#5b9d9a", "#8c8c8c"]


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    color: str
    title: str


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    bars: List[Bar]
    labels: List[Tuple[float, str]]
    maximum: float
    legend: List[Tuple[str, str]]


def stacked(
    columns: Sequence[str], series: Sequence[Tuple[str, Sequence[float]]], unit: str = ""
) -> Chart:
    """One bar per column, stacked by series (``[(name, values per column)]``)."""
    count = max(1, len(columns))
    slot = WIDTH / count
    width = max(4.0, slot * 0.7)
    totals = [sum(values[i] for _, values in series) for i in range(len(columns))]
    maximum = max(totals + [1.0])
    scale = (HEIGHT - BOTTOM - 8) / maximum
    bars: List[Bar] = []
    for column in range(len(columns)):
        base = float(HEIGHT - BOTTOM)
        for index, (name, values) in enumerate(series):
            value = values[column]
            if not value:
                continue
            height = value * scale
            base -= height
            bars.append(
                Bar(
                    x=round(column * slot + (slot - width) / 2, 1),
                    y=round(base, 1),
                    width=round(width, 1),
                    height=round(height, 1),
                    color=PALETTE[index % len(PALETTE)],
                    title=f"{columns[column]}: {name} {value:g}{unit}",
                )
            )
    labels = [(round(i * slot + slot / 2, 1), columns[i]) for i in range(len(columns))]
    legend = [(name, PALETTE[i % len(PALETTE)]) for i, (name, _) in enumerate(series)]
    return Chart(WIDTH, HEIGHT, bars, labels, maximum, legend if len(series) > 1 else [])


def simple(columns: Sequence[str], values: Sequence[Optional[float]], name: str,
           unit: str = "") -> Chart:
    return stacked(columns, [(name, [v or 0.0 for v in values])], unit)
