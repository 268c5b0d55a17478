"""Server-side SVG charts (pygal) for the TLSRPT pages: no JavaScript, no CDN.

Each function takes the rows from ``reports.aggregates`` and returns SVG markup that a
template includes with ``|safe`` (pygal escapes the labels it is given). The page also
shows every chart's numbers as a table, for screen readers and for copying.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import pygal
from pygal.style import Style

from reports.aggregates import DayPoint

OK_COLOUR = "#1a7f37"
FAIL_COLOUR = "#b3261e"
STYLE = Style(
    background="#ffffff",
    plot_background="#ffffff",
    foreground="#14181f",
    foreground_strong="#14181f",
    foreground_subtle="#57606a",
    font_family="system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif",
    label_font_size=12,
    major_label_font_size=12,
    legend_font_size=13,
    title_font_size=15,
    value_font_size=11,
    colors=(OK_COLOUR, FAIL_COLOUR, "#0b5cad", "#8a5a00", "#6f42c1", "#57606a"),
)
# pygal adds a config <script>; the charts need no script, and pages may forbid inline JS.
_SCRIPT = re.compile(r"<script\b[^>]*>.*?</script>", re.DOTALL)
_COMMON = {
    "style": STYLE,
    "js": [],  # the default loads tooltips from a CDN
    "disable_xml_declaration": True,
    "legend_at_bottom": True,
    "legend_at_bottom_columns": 3,
    "print_values": False,
    "width": 760,
    "height": 340,
    "margin": 12,
    "margin_bottom": 30,  # pygal under-counts the x labels and clips a bottom legend
}


def _render(chart: pygal.graph.graph.Graph) -> str:
    return _SCRIPT.sub("", chart.render(is_unicode=True))


def _day_labels(points: Sequence[DayPoint]) -> dict:
    every = 1 if len(points) <= 10 else 7 if len(points) <= 31 else 14
    return {
        "x_labels": [point.day.strftime("%b %d") for point in points],
        "x_labels_major_every": every,
        "show_minor_x_labels": every == 1,
        "truncate_label": -1,
    }


def sessions_chart(points: Sequence[DayPoint]) -> str:
    """Daily successful vs failed sessions, stacked bars."""
    chart = pygal.StackedBar(
        title="TLS sessions per day", **_COMMON, **_day_labels(points), min_scale=1
    )
    chart.add("Successful", [point.successful for point in points])
    chart.add("Failed", [point.failed for point in points])
    return _render(chart)


def failure_rate_chart(points: Sequence[DayPoint], threshold: float) -> str:
    """Daily failure rate in percent, with the alert threshold as a second line.

    The scale stops a little above the worst day or twice the threshold, so a few
    percent stays readable instead of hugging the floor of a 0-100 axis.
    """
    rates = [point.failure_rate * 100 for point in points if point.failure_rate is not None]
    top = min(100, max(threshold * 200, max(rates, default=0) * 1.15, 1))
    chart = pygal.Line(
        title="Failure rate per day (%)",
        **_COMMON,
        **_day_labels(points),
        range=(0, round(top, 1)),
        allow_interruptions=True,
        dots_size=3,
    )
    chart.add(
        "Failure rate",
        [
            None if point.failure_rate is None else round(point.failure_rate * 100, 2)
            for point in points
        ],
        stroke_style={"width": 2.5},
    )
    chart.add(
        "Alert threshold",
        [threshold * 100] * len(points),
        show_dots=False,
        stroke_style={"width": 1.5, "dasharray": "6, 4"},
    )
    chart.config.style = _with_colours(FAIL_COLOUR, "#8a5a00")
    return _render(chart)


def breakdown_chart(title: str, rows: Sequence[tuple[str, int]], limit: int = 10) -> str:
    """Horizontal bars for the largest ``limit`` rows; the rest summed as "other"."""
    shown = list(rows[:limit])
    rest = sum(count for _, count in rows[limit:])
    if rest:
        shown.append(("(other)", rest))
    height = max(160, 60 + 34 * len(shown))
    chart = pygal.HorizontalBar(
        title=title,
        **{**_COMMON, "height": height, "legend_at_bottom": False, "print_values": True},
        show_legend=False,
        truncate_label=40,
    )
    chart.config.style = _with_colours(FAIL_COLOUR)
    chart.x_labels = [label for label, _ in reversed(shown)]
    chart.add("Failed sessions", [count for _, count in reversed(shown)])
    return _render(chart)


def _with_colours(*colours: str) -> Style:
    return Style(**{**STYLE.to_dict(), "colors": colours})
