"""SVG charts of the report pages: dot-and-whisker comparisons and trend lines.

Every text that ends up in an SVG or an attribute is escaped here (``tag``, ``svg_text``); the
documents are returned as ``SafeString`` for that reason, the one place that marks them safe.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from html import escape
from typing import TYPE_CHECKING

from django.utils.safestring import SafeString, mark_safe

from reports.formats import (
    SCALE_DOMAIN,
    fmt,
    fmt_ci,
    is_number,
)

if TYPE_CHECKING:  # the dataclasses only; this module never touches the database
    pass

FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif"
LEFT_COLOUR = "#b2182b"  # red, as a positive difference (left higher) in the heat maps
RIGHT_COLOUR = "#2166ac"  # blue
GRID_COLOUR = "#d9d9d9"
AXIS_COLOUR = "#444444"
TEXT_COLOUR = "#222222"
# Okabe & Ito's colour-blind-safe palette, then a few darker extras
SERIES_COLOURS = [
    "#0072B2",
    "#D55E00",
    "#009E73",
    "#CC79A7",
    "#E69F00",
    "#56B4E9",
    "#000000",
    "#8C564B",
    "#7F7F7F",
    "#BCBD22",
    "#17BECF",
    "#9467BD",
]


def _attrs(attributes: Mapping[str, object]) -> str:
    return "".join(
        f' {name.rstrip("_").replace("_", "-")}="{escape(str(value), quote=True)}"'
        for name, value in attributes.items()
        if value is not None
    )


def tag(name: str, content: str = "", **attributes: object) -> str:
    if content:
        return f"<{name}{_attrs(attributes)}>{content}</{name}>"
    return f"<{name}{_attrs(attributes)}/>"


def svg_text(x: float, y: float, text: str, **attributes: object) -> str:
    attributes.setdefault("fill", TEXT_COLOUR)
    attributes.setdefault("font_size", 13)
    return tag("text", escape(text), x=num(x), y=num(y), **attributes)


def num(number: float) -> str:
    return f"{number:.1f}".rstrip("0").rstrip(".")


def svg_document(width: float, height: float, title: str, body: list[str]) -> SafeString:
    content = "".join([tag("title", escape(title)), *body])
    # Safe: every text and attribute value above went through html.escape.
    return mark_safe(
        tag(
            "svg",
            content,
            xmlns="http://www.w3.org/2000/svg",
            viewBox=f"0 0 {num(width)} {num(height)}",
            width=num(width),
            role="img",
            aria_label=title,
            font_family=FONT,
            class_="chart",
        )
    )


def nice_ticks(low: float, high: float, count: int = 6) -> list[float]:
    """Round tick values covering [low, high] (1, 2, 2.5 or 5 times a power of ten)."""
    if not (is_number(low) and is_number(high)) or high <= low:
        return [low]
    raw = (high - low) / max(count - 1, 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    first = math.ceil(low / step - 1e-9) * step
    ticks = []
    value = first
    while value <= high + 1e-9:
        ticks.append(round(value, 10))
        value += step
    return ticks


@dataclass(frozen=True)
class DotRow:
    """One role of a dot-and-whisker chart: (mean, ci_low, ci_high) of each side."""

    label: str
    left: tuple[float | None, float | None, float | None]
    right: tuple[float | None, float | None, float | None]


def dot_whisker_svg(
    rows: Sequence[DotRow],
    *,
    left_label: str,
    right_label: str,
    title: str,
    domain: tuple[float, float] = SCALE_DOMAIN,
    axis_label: str = "Mean rating (0–10) with 95 % CI",
) -> SafeString:
    """Both sides' mean and CI per role: left in red above, right in blue below."""
    width, label_width, right_margin = 480.0, 150.0, 16.0
    top, row_height, bottom = 58.0, 34.0, 56.0
    height = top + row_height * max(len(rows), 1) + bottom
    x0, x1 = label_width, width - right_margin
    values = [v for row in rows for v in (*row.left, *row.right) if is_number(v)]
    low = min([domain[0], *values])
    high = max([domain[1], *values])

    def x(value: float) -> float:
        return x0 + (value - low) / (high - low) * (x1 - x0)

    body = [tag("rect", x=0, y=0, width=num(width), height=num(height), fill="#ffffff")]
    # legend
    body += [
        tag("circle", cx=num(x0 + 6), cy=18, r=6, fill=LEFT_COLOUR),
        svg_text(x0 + 18, 23, left_label),
        tag("circle", cx=num(x0 + 6), cy=40, r=6, fill=RIGHT_COLOUR),
        svg_text(x0 + 18, 45, right_label),
    ]
    plot_bottom = top + row_height * max(len(rows), 1)
    for tick in nice_ticks(low, high, 6):
        body.append(
            tag(
                "line",
                x1=num(x(tick)),
                x2=num(x(tick)),
                y1=num(top - 4),
                y2=num(plot_bottom),
                stroke=GRID_COLOUR,
            )
        )
        body.append(svg_text(x(tick), plot_bottom + 18, fmt(tick, 0), text_anchor="middle"))
    body.append(
        tag(
            "line",
            x1=num(x0),
            x2=num(x1),
            y1=num(plot_bottom),
            y2=num(plot_bottom),
            stroke=AXIS_COLOUR,
        )
    )
    body.append(svg_text((x0 + x1) / 2, height - 10, axis_label, text_anchor="middle"))
    for index, row in enumerate(rows):
        middle = top + row_height * index + row_height / 2
        if index % 2:
            body.append(
                tag(
                    "rect",
                    x=0,
                    y=num(middle - row_height / 2),
                    width=num(x1),
                    height=num(row_height),
                    fill="#f4f4f4",
                    fill_opacity="0.7",
                )
            )
        body.append(_label(x0 - 10, middle, row.label))
        for (mean, ci_low, ci_high), offset, colour, side in (
            (row.left, -5.0, LEFT_COLOUR, left_label),
            (row.right, 5.0, RIGHT_COLOUR, right_label),
        ):
            y = middle + offset
            if is_number(ci_low) and is_number(ci_high):
                body.append(
                    tag(
                        "line",
                        x1=num(x(ci_low)),
                        x2=num(x(ci_high)),
                        y1=num(y),
                        y2=num(y),
                        stroke=colour,
                        stroke_width=2,
                    )
                )
                for end in (ci_low, ci_high):
                    body.append(
                        tag(
                            "line",
                            x1=num(x(end)),
                            x2=num(x(end)),
                            y1=num(y - 3.5),
                            y2=num(y + 3.5),
                            stroke=colour,
                            stroke_width=2,
                        )
                    )
            if is_number(mean):
                body.append(
                    tag(
                        "circle",
                        tag(
                            "title",
                            escape(f"{row.label}, {side}: {fmt(mean)} {fmt_ci(ci_low, ci_high)}"),
                        ),
                        cx=num(x(mean)),
                        cy=num(y),
                        r=5,
                        fill=colour,
                        stroke="#ffffff",
                        stroke_width=1,
                    )
                )
    return svg_document(width, height, title, body)


def clip(text: str, length: int) -> str:
    return text if len(text) <= length else text[: length - 1] + "…"


LABEL_LINE_CHARS = 21


def label_lines(text: str, length: int = LABEL_LINE_CHARS) -> list[str]:
    """A label in one line, or two split at the space or hyphen nearest the middle."""
    if len(text) <= length:
        return [text]
    breaks = [i for i, char in enumerate(text) if char in " -–" and 0 < i < len(text) - 1]
    if not breaks:
        return [clip(text, length)]
    cut = min(breaks, key=lambda i: abs(i - len(text) / 2))
    first = text[: cut + 1].rstrip() if text[cut] != " " else text[:cut]
    return [clip(first, length), clip(text[cut + 1 :].strip(), length)]


def _label(x: float, middle: float, text: str) -> str:
    """A right-aligned row label centred on ``middle``, wrapped to two lines if long."""
    lines = label_lines(text)
    if len(lines) == 1:
        return svg_text(x, middle + 4.5, text, text_anchor="end")
    spans = "".join(
        tag("tspan", escape(line), x=num(x), dy="0" if n == 0 else "14")
        for n, line in enumerate(lines)
    )
    return tag(
        "text",
        spans,
        x=num(x),
        y=num(middle - 2.5),
        fill=TEXT_COLOUR,
        font_size=13,
        text_anchor="end",
    )


@dataclass(frozen=True)
class Series:
    """One line of a line chart: a label and one (value, ci_low, ci_high) or None per x."""

    label: str
    points: list[tuple[float | None, float | None, float | None] | None] = field(
        default_factory=list
    )


def line_chart_svg(
    *,
    x_labels: Sequence[str],
    series: Sequence[Series],
    y_label: str,
    x_label: str,
    title: str,
    y_domain: tuple[float, float] | None = None,
    zero_line: bool = False,
) -> SafeString:
    """Lines over categorical x (waves) with shaded 95 % CI bands and a legend below.

    A point has a whisker too, so that a single wave still shows its interval. The legend
    sits under the plot in two columns, so that the chart stays narrow enough to be read
    when it is scaled down to a phone's width.
    """
    width, plot_height = 560.0, 330.0
    left, right, top, bottom = 64.0, 24.0, 24.0, 64.0
    legend_columns, legend_row = 2, 24.0
    legend_rows = math.ceil(len(series) / legend_columns)
    height = plot_height + legend_rows * legend_row + (8.0 if series else 0.0)
    x0, x1, y0, y1 = left, width - right, plot_height - bottom, top
    values = [v for s in series for point in s.points if point for v in point if is_number(v)]
    if y_domain is None:
        extent = max([1.0, *(abs(v) for v in values)])
        extent = math.ceil(extent)
        y_domain = (-extent, extent) if zero_line else (0.0, extent)
    low = min([y_domain[0], *values])
    high = max([y_domain[1], *values])
    n = max(len(x_labels), 1)

    def x(index: int) -> float:
        return (x0 + x1) / 2 if n == 1 else x0 + 30 + index * (x1 - x0 - 60) / (n - 1)

    def y(value: float) -> float:
        return y0 - (value - low) / (high - low) * (y0 - y1)

    body = [tag("rect", x=0, y=0, width=num(width), height=num(height), fill="#ffffff")]
    for tick in nice_ticks(low, high, 6):
        body.append(
            tag(
                "line", x1=num(x0), x2=num(x1), y1=num(y(tick)), y2=num(y(tick)), stroke=GRID_COLOUR
            )
        )
        body.append(svg_text(x0 - 8, y(tick) + 4.5, fmt(tick, 1), text_anchor="end"))
    if zero_line and low < 0 < high:
        body.append(
            tag("line", x1=num(x0), x2=num(x1), y1=num(y(0)), y2=num(y(0)), stroke=AXIS_COLOUR)
        )
    body.append(tag("line", x1=num(x0), x2=num(x1), y1=num(y0), y2=num(y0), stroke=AXIS_COLOUR))
    body.append(tag("line", x1=num(x0), x2=num(x0), y1=num(y0), y2=num(y1), stroke=AXIS_COLOUR))
    for index, label in enumerate(x_labels):
        body.append(svg_text(x(index), y0 + 20, clip(label, 18), text_anchor="middle"))
    body.append(svg_text((x0 + x1) / 2, plot_height - 14, x_label, text_anchor="middle"))
    body.append(
        svg_text(
            16,
            (y0 + y1) / 2,
            y_label,
            text_anchor="middle",
            transform=f"rotate(-90 16 {num((y0 + y1) / 2)})",
        )
    )
    for number, line in enumerate(series):
        colour = SERIES_COLOURS[number % len(SERIES_COLOURS)]
        body += _series_shapes(line, colour, x, y)
        legend_x = 16 + (number % legend_columns) * (width - 32) / legend_columns
        legend_y = plot_height + 12 + (number // legend_columns) * legend_row
        body.append(
            tag(
                "line",
                x1=num(legend_x),
                x2=num(legend_x + 24),
                y1=num(legend_y),
                y2=num(legend_y),
                stroke=colour,
                stroke_width=3,
            )
        )
        body.append(tag("circle", cx=num(legend_x + 12), cy=num(legend_y), r=4, fill=colour))
        body.append(svg_text(legend_x + 32, legend_y + 4.5, clip(line.label, 34)))
    if not series:
        body.append(svg_text((x0 + x1) / 2, (y0 + y1) / 2, "No data", text_anchor="middle"))
    return svg_document(width, height, title, body)


def _runs(points: Sequence) -> list[list[int]]:
    """Indices of consecutive present points (a missing wave breaks the line)."""
    runs: list[list[int]] = [[]]
    for index, point in enumerate(points):
        if point is not None and is_number(point[0]):
            runs[-1].append(index)
        elif runs[-1]:
            runs.append([])
    return [run for run in runs if run]


def _series_shapes(line: Series, colour: str, x, y) -> list[str]:
    shapes = []
    for run in _runs(line.points):
        banded = [i for i in run if is_number(line.points[i][1]) and is_number(line.points[i][2])]
        if len(banded) >= 2 and banded == run:
            upper = [f"{num(x(i))},{num(y(line.points[i][2]))}" for i in run]
            lower = [f"{num(x(i))},{num(y(line.points[i][1]))}" for i in reversed(run)]
            shapes.append(
                tag("polygon", points=" ".join(upper + lower), fill=colour, fill_opacity="0.13")
            )
        if len(run) >= 2:
            shapes.append(
                tag(
                    "polyline",
                    points=" ".join(f"{num(x(i))},{num(y(line.points[i][0]))}" for i in run),
                    fill="none",
                    stroke=colour,
                    stroke_width=2.5,
                )
            )
        for i in run:
            value, ci_low, ci_high = line.points[i]
            if is_number(ci_low) and is_number(ci_high):
                shapes.append(
                    tag(
                        "line",
                        x1=num(x(i)),
                        x2=num(x(i)),
                        y1=num(y(ci_low)),
                        y2=num(y(ci_high)),
                        stroke=colour,
                        stroke_width=1.5,
                        stroke_opacity="0.6",
                    )
                )
            shapes.append(
                tag(
                    "circle",
                    tag("title", escape(f"{line.label}: {fmt(value)} {fmt_ci(ci_low, ci_high)}")),
                    cx=num(x(i)),
                    cy=num(y(value)),
                    r=4.5,
                    fill=colour,
                )
            )
    return shapes
