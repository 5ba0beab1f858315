"""Charts drawn on the server: the geometry of a chart as plain numbers, drawn as inline SVG by the macros of
``templates/coordinator_reports/_charts.html``. No JavaScript and no files: a chart is part of the page.

Every chart is 360 units wide (its ``viewBox``) and drawn at the page's full width, so on a 360 px phone one
unit is about one pixel and the text stays readable. The figures themselves are always in a table beside the
chart: the picture only helps to see them at a glance.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

WIDTH = 360
# Columns and lines: the axis labels on the left, the month names (and years) below.
PLOT_LEFT, PLOT_RIGHT, PLOT_TOP, PLOT_BOTTOM, COLUMNS_HEIGHT = 48, 356, 14, 176, 214
# At most this many month names fit under a chart on a phone; with more months every second (third...) is named.
MAX_NAMED_COLUMNS = 8
# Horizontal bars: a name on one line, the bar under it, the figure after the bar.
ROW_HEIGHT, BAR_THICKNESS, BARS_LEFT, BARS_MAX_LENGTH = 40, 14, 4, 252
MAX_NAME_LENGTH = 44
# Nice tops for an axis: minutes (20 min, 40 min, 1 h, 2 h, 4 h, 10 h, 20 h...) and counts (2, 4, 10, 20...).
MINUTE_STEPS = (20, 40, 60)
ROUND_STEPS = (2, 4, 10)


@dataclass(frozen=True)
class Column:
    """One column of a column chart or one point of a line chart, with what it stands for."""

    x: float  # left edge of the column
    width: float
    centre: float
    top: float  # where the column (or the point) is
    height: float
    value: int
    title: str  # "March 2026: 14 h", shown by a browser when pointing at it


@dataclass(frozen=True)
class Tick:
    y: float
    text: str


@dataclass(frozen=True)
class AxisLabel:
    x: float
    text: str
    year: str  # "" unless the year changes here (or it is the first label)


@dataclass(frozen=True)
class ColumnChart:
    """Columns (or a line) over months. ``columns`` holds every month; draw only those with a value."""

    width: int
    height: int
    plot_left: int
    plot_right: int
    baseline: float
    columns: list[Column]
    ticks: list[Tick]
    labels: list[AxisLabel]

    @property
    def line_points(self) -> str:
        """The ``points`` of a polyline through every month (zeros included)."""
        return " ".join(f"{column.centre},{column.top}" for column in self.columns)


@dataclass(frozen=True)
class Bar:
    name: str
    name_y: float
    bar_y: float
    length: float
    value_x: float
    value_y: float
    value_text: str


@dataclass(frozen=True)
class BarChart:
    """Horizontal bars, one row per item, longest first."""

    width: int
    height: int
    left: int
    thickness: int
    bars: list[Bar]


def nice_top(value: int) -> int:
    """The smallest round number at or above ``value`` for the top of an axis: 2, 4, 10, 20, 40, 100...
    (always even, so that the middle of the axis is a whole number too)."""
    unit = 1
    while True:
        for step in ROUND_STEPS:
            if step * unit >= value:
                return step * unit
        unit *= 10


def top_for_minutes(maximum: int) -> int:
    """The axis top for minutes: 20, 40 or 60 minutes, else a round number of hours (2, 4, 10, 20, 40...)."""
    if maximum <= MINUTE_STEPS[-1]:
        return next(step for step in MINUTE_STEPS if step >= maximum)
    return nice_top(-(-maximum // 60)) * 60


def top_for_counts(maximum: int) -> int:
    return nice_top(max(maximum, 1))


def _round(value: float) -> float:
    return round(value, 1)


def column_chart(
    items: Sequence[tuple[str, str, int]],
    *,
    top: int,
    tick_text: Callable[[int], str],
    value_text: Callable[[int], str],
) -> ColumnChart:
    """A column chart of ``items`` (short name, year, value), left to right, with an axis from 0 to ``top``
    (``top_for_minutes`` / ``top_for_counts``) labelled by ``tick_text``; ``value_text`` says a value in words."""
    if not items:
        raise ValueError("a chart needs at least one item")
    if top <= 0 or any(value < 0 or value > top for _, _, value in items):
        raise ValueError("every value must lie between 0 and the top of the axis")
    slot = (PLOT_RIGHT - PLOT_LEFT) / len(items)
    plot_height = PLOT_BOTTOM - PLOT_TOP
    columns, labels = [], []
    every = -(-len(items) // MAX_NAMED_COLUMNS)
    last_year = None
    for index, (name, year, value) in enumerate(items):
        left = PLOT_LEFT + index * slot
        height = plot_height * value / top
        columns.append(
            Column(
                x=_round(left + slot * 0.15),
                width=_round(slot * 0.7),
                centre=_round(left + slot / 2),
                top=_round(PLOT_BOTTOM - height),
                height=_round(height),
                value=value,
                title=f"{name} {year}: {value_text(value)}",
            )
        )
        if index % every == 0:
            labels.append(AxisLabel(x=_round(left + slot / 2), text=name, year=year if year != last_year else ""))
            last_year = year
    ticks = [
        Tick(y=_round(PLOT_BOTTOM - plot_height * part / 2), text=tick_text(top * part // 2)) for part in (0, 1, 2)
    ]
    return ColumnChart(
        width=WIDTH,
        height=COLUMNS_HEIGHT,
        plot_left=PLOT_LEFT,
        plot_right=PLOT_RIGHT,
        baseline=PLOT_BOTTOM,
        columns=columns,
        ticks=ticks,
        labels=labels,
    )


def bar_chart(items: Sequence[tuple[str, int]], *, value_text: Callable[[int], str]) -> BarChart:
    """Horizontal bars for the items with a value above zero, largest first (then by name)."""
    shown = sorted(((name, value) for name, value in items if value > 0), key=lambda item: (-item[1], item[0]))
    largest = max((value for _, value in shown), default=1)
    bars = []
    for index, (name, value) in enumerate(shown):
        row_top = index * ROW_HEIGHT
        length = BARS_MAX_LENGTH * value / largest
        bars.append(
            Bar(
                name=name if len(name) <= MAX_NAME_LENGTH else name[: MAX_NAME_LENGTH - 1] + "…",
                name_y=row_top + 15,
                bar_y=row_top + 20,
                length=_round(max(length, 1)),
                value_x=_round(BARS_LEFT + max(length, 1) + 6),
                value_y=row_top + 32,
                value_text=value_text(value),
            )
        )
    return BarChart(
        width=WIDTH, height=max(len(bars), 1) * ROW_HEIGHT, left=BARS_LEFT, thickness=BAR_THICKNESS, bars=bars
    )
