"""Presentation of stored results: number formats, heat-map colours, SVG charts, CSV text.

Pure functions from finished numbers to strings; no ORM, no request. The admin report views
(``aggregation.reports``) read with ``aggregation.selectors`` and hand the dataclasses they
get to the functions here, so that templates only place finished strings.

Every text that ends up in an SVG or in an HTML attribute is escaped here; the SVG strings
are returned as ``SafeString`` for that reason.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from html import escape
from typing import TYPE_CHECKING

from django.utils.safestring import SafeString, mark_safe

from aggregation.engine import COMPARISON_ROLE_COLUMNS

if TYPE_CHECKING:  # the dataclasses only; this module never touches the database
    from aggregation.selectors import (
        ActorPlace,
        ComparisonRoleRow,
        ExpertStatus,
        PanelProgress,
        StoredComparison,
        TrendPoint,
    )

MISSING = "–"
SCALE_DOMAIN = (0.0, 10.0)

# --------------------------------------------------------------------------------------------
# Numbers
# --------------------------------------------------------------------------------------------


def is_number(value: float | None) -> bool:
    return value is not None and not (isinstance(value, float) and not math.isfinite(value))


def fmt(value: float | None, digits: int = 2) -> str:
    """A number with ``digits`` decimals and a true minus sign; NaN and None as "–"."""
    if not is_number(value):
        return MISSING
    text = f"{value:.{digits}f}"
    if text.startswith("-"):
        text = "−" + text[1:]
        if float(value) > -(0.5 * 10**-digits):  # "−0.00" is just 0.00
            text = text[1:]
    return text


def fmt_ci(low: float | None, high: float | None, digits: int = 2) -> str:
    if not (is_number(low) and is_number(high)):
        return MISSING
    return f"[{fmt(low, digits)}, {fmt(high, digits)}]"


def fmt_p(p: float | None) -> str:
    """A p-value: three decimals, "<0.001" below that."""
    if not is_number(p):
        return MISSING
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def fmt_rate(rate: float | None) -> str:
    return MISSING if not is_number(rate) else f"{100 * rate:.0f} %"


def csv_number(value: float | None) -> str:
    """Full precision for machines; empty for a missing value."""
    return "" if not is_number(value) else repr(float(value))


# --------------------------------------------------------------------------------------------
# Diverging heat-map colours (ColorBrewer RdBu, 11 classes): red = left side higher
# --------------------------------------------------------------------------------------------

# level → (background, text); levels −5 … 5. The text colour is chosen for a WCAG contrast of
# at least 4.5 : 1 on its background (tests/aggregation/test_charts.py checks it).
HEAT_COLOURS: dict[int, tuple[str, str]] = {
    -5: ("#053061", "#ffffff"),
    -4: ("#2166ac", "#ffffff"),
    -3: ("#4393c3", "#000000"),
    -2: ("#92c5de", "#000000"),
    -1: ("#d1e5f0", "#000000"),
    0: ("#f7f7f7", "#000000"),
    1: ("#fddbc7", "#000000"),
    2: ("#f4a582", "#000000"),
    3: ("#d6604d", "#000000"),
    4: ("#b2182b", "#ffffff"),
    5: ("#67001f", "#ffffff"),
}
MISSING_COLOURS = ("#ffffff", "#555555")

DIFF_STEPS = (0.25, 1.0, 2.0, 3.0, 4.0)
"""Bounds of the colour levels of a difference on the 0–10 scale, in scale points."""
G_STEPS = (0.1, 0.2, 0.5, 0.8, 1.2)
"""Bounds of the colour levels of Hedges' g (Cohen's small, medium, large at 0.2/0.5/0.8)."""


def heat_level(value: float | None, steps: Sequence[float] = DIFF_STEPS) -> int | None:
    """−5 … 5: how many of ``steps`` |value| reaches, signed; None when missing."""
    if not is_number(value):
        return None
    level = sum(abs(value) >= step for step in steps)
    return level if value >= 0 else -level


def heat_class(value: float | None, steps: Sequence[float] = DIFF_STEPS) -> str:
    """The CSS class of a heat-map cell: ``heat-p3``, ``heat-0``, ``heat-n2``, ``heat-na``."""
    level = heat_level(value, steps)
    if level is None:
        return "heat-na"
    if level == 0:
        return "heat-0"
    return f"heat-p{level}" if level > 0 else f"heat-n{-level}"


def heat_css() -> SafeString:
    """The stylesheet of the heat-map classes (placed once in the report pages)."""
    rules = []
    for level, (background, text) in HEAT_COLOURS.items():
        name = "heat-0" if level == 0 else (f"heat-p{level}" if level > 0 else f"heat-n{-level}")
        rules.append(f".{name}{{background:{background};color:{text}}}")
    rules.append(f".heat-na{{background:{MISSING_COLOURS[0]};color:{MISSING_COLOURS[1]}}}")
    return mark_safe("\n".join(rules))  # built from the constant colours above


@dataclass(frozen=True)
class LegendStep:
    css: str
    label: str


def heat_legend(steps: Sequence[float] = DIFF_STEPS) -> list[LegendStep]:
    """Swatches of the diverging scale from "≤ −4" (blue) to "≥ 4" (red)."""
    negative = [
        LegendStep(
            css=heat_class(-steps[level - 1], steps),
            label=f"≤ −{_short(steps[level - 1])}"
            if level == len(steps)
            else f"−{_short(steps[level])} … −{_short(steps[level - 1])}",
        )
        for level in range(len(steps), 0, -1)
    ]
    positive = [
        LegendStep(
            css=heat_class(steps[level - 1], steps),
            label=f"≥ {_short(steps[level - 1])}"
            if level == len(steps)
            else f"{_short(steps[level - 1])} … {_short(steps[level])}",
        )
        for level in range(1, len(steps) + 1)
    ]
    middle = LegendStep(css="heat-0", label=f"|x| < {_short(steps[0])}")
    return [*negative, middle, *positive]


def _short(number: float) -> str:
    return f"{number:g}"


# --------------------------------------------------------------------------------------------
# Comparison wording
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Side:
    """How one side of a comparison is named: ``short`` for legends, ``long`` for headings."""

    short: str
    long: str


# preset → (left, right) as (short, long) templates; {subject}, {left_city}, {right_city}
PRESET_SIDES: dict[str, tuple[tuple[str, str], tuple[str, str]]] = {
    "ascribed_vs_conceived": (
        ("Ascribed ({left_city})", "ascribed to {subject} by Russia ({left_city} panel)"),
        ("Self-conceived ({right_city})", "self-conceived by {subject} ({right_city} panel)"),
    ),
    "conception_vs_performance": (
        ("Conception ({left_city})", "{subject}'s role conception ({left_city} panel)"),
        ("Performance (all panels)", "{subject}'s role performance (all panels)"),
    ),
    "ego_vs_perceived_alter": (
        ("Russia's ego ({left_city})", "Russia's ego role conception ({left_city} panel)"),
        (
            "Perceived alter ({right_city})",
            "what {subject} expects of Russia, as perceived in {right_city}",
        ),
    ),
    "perceived_vs_actual_expectation": (
        (
            "Perceived in {left_city}",
            "{subject}'s expectation of Russia as perceived in {left_city}",
        ),
        ("Held in {right_city}", "{subject}'s expectation of Russia as held in {right_city}"),
    ),
}


def _label_panel(label: str) -> str | None:
    """The panel code of a stored side label such as "expectation RUS→ARM (MOW)"."""
    if label.endswith(")") and "(" in label:
        code = label.rsplit("(", 1)[1][:-1]
        return None if code == "ALL" else code
    return None


def preset_sides(
    comparison: StoredComparison, places: Mapping[str, ActorPlace]
) -> tuple[Side, Side]:
    """Readable names of both sides, e.g. "Ascribed (Moscow)" and "Self-conceived (Yerevan)".

    The cities come from the panel codes in the stored labels; a preset without wording here
    falls back to the stored labels.
    """
    templates = PRESET_SIDES.get(comparison.preset)
    if templates is None:
        return (
            Side(comparison.left_label, comparison.left_label),
            Side(comparison.right_label, comparison.right_label),
        )
    cities = {place.panel: place.city for place in places.values() if place.panel}
    left_panel = _label_panel(comparison.left_label)
    right_panel = _label_panel(comparison.right_label)
    values = {
        "subject": comparison.subject_name,
        "left_city": cities.get(left_panel, left_panel or "all panels"),
        "right_city": cities.get(right_panel, right_panel or "all panels"),
    }
    (left_short, left_long), (right_short, right_long) = templates
    return (
        Side(left_short.format(**values), left_long.format(**values)),
        Side(right_short.format(**values), right_long.format(**values)),
    )


def overview_sides(
    comparisons: Sequence[StoredComparison], places: Mapping[str, ActorPlace]
) -> tuple[Side, Side] | None:
    """Both sides' names for a table of many actors: "the actor" for the subject, and
    "home" for a city that differs from one actor to the next."""
    if not comparisons:
        return None
    named = [preset_sides(comparison, places) for comparison in comparisons]
    generic = replace(comparisons[0], subject_name="the actor")
    cities = {place.panel: place.city for place in places.values() if place.panel}
    sides = []
    for position, label_of in enumerate(("left_label", "right_label")):
        panels = {_label_panel(getattr(comparison, label_of)) for comparison in comparisons}
        if len({side[position].long for side in named}) == 1:
            sides.append(named[0][position])
            continue
        templates = PRESET_SIDES.get(comparisons[0].preset)
        if templates is None or len(panels) == 1:
            sides.append(preset_sides(generic, places)[position])
            continue
        short, long = templates[position]
        values = {"subject": "the actor", "left_city": "home", "right_city": "home"}
        other = "right_city" if position == 0 else "left_city"
        other_panel = _label_panel(getattr(comparisons[0], ("right_label", "left_label")[position]))
        values[other] = cities.get(other_panel, "all panels")
        sides.append(Side(short.format(**values), long.format(**values)))
    return sides[0], sides[1]


# --------------------------------------------------------------------------------------------
# Tables
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TableCell:
    text: str
    css: str = ""
    title: str = ""


@dataclass(frozen=True)
class ComparisonTableRow:
    role: str
    role_name: str
    n_left: str
    left: str
    left_ci: str
    n_right: str
    right: str
    right_ci: str
    diff: TableCell
    diff_ci: TableCell
    hedges_g: TableCell
    p_adjusted: TableCell


def _sort_by_difference(rows: Iterable[ComparisonRoleRow]) -> list[ComparisonRoleRow]:
    """Largest left-over-right difference first; roles without a difference last."""
    return sorted(rows, key=lambda row: (not is_number(row.diff), -(row.diff or 0.0)))


def comparison_table(rows: Sequence[ComparisonRoleRow]) -> list[ComparisonTableRow]:
    """The role rows formatted, sorted by difference, the difference and g coloured."""
    table = []
    for row in _sort_by_difference(rows):
        diff_class = heat_class(row.diff)
        significant = is_number(row.p_adjusted) and row.p_adjusted < 0.05
        table.append(
            ComparisonTableRow(
                role=row.role,
                role_name=row.role_name,
                n_left=str(row.n_left),
                left=fmt(row.mean_left),
                left_ci=fmt_ci(row.ci_low_left, row.ci_high_left),
                n_right=str(row.n_right),
                right=fmt(row.mean_right),
                right_ci=fmt_ci(row.ci_low_right, row.ci_high_right),
                diff=TableCell(fmt(row.diff), diff_class),
                diff_ci=TableCell(fmt_ci(row.diff_ci_low, row.diff_ci_high), diff_class),
                hedges_g=TableCell(fmt(row.hedges_g), heat_class(row.hedges_g, G_STEPS)),
                p_adjusted=TableCell(fmt_p(row.p_adjusted), "sig" if significant else ""),
            )
        )
    return table


@dataclass(frozen=True)
class Dominant:
    role_name: str
    mean: str


def dominant(comparison: StoredComparison, side: str) -> Dominant | None:
    """The dominant role (highest mean) of one side, as stored by the run."""
    code = comparison.dominant_left if side == "left" else comparison.dominant_right
    if not code:
        return None
    row = next((row for row in comparison.rows if row.role == code), None)
    mean = None if row is None else (row.mean_left if side == "left" else row.mean_right)
    return Dominant(role_name=comparison.role_name(code), mean=fmt(mean))


@dataclass(frozen=True)
class ComparisonView:
    """Everything a page shows of one comparison, finished."""

    preset: str
    subject: str
    subject_name: str
    left: Side
    right: Side
    dominant_left: Dominant | None
    dominant_right: Dominant | None
    profile_distance: str
    method: str
    rows: list[ComparisonTableRow]
    chart: SafeString


METHOD_NAMES = {
    "welch": "Welch t (independent panels)",
    "paired": "paired t (the same experts)",
}


def comparison_view(
    comparison: StoredComparison, places: Mapping[str, ActorPlace], *, title: str = ""
) -> ComparisonView:
    left, right = preset_sides(comparison, places)
    rows = _sort_by_difference(comparison.rows)
    chart = dot_whisker_svg(
        [
            DotRow(
                label=row.role_name,
                left=(row.mean_left, row.ci_low_left, row.ci_high_left),
                right=(row.mean_right, row.ci_low_right, row.ci_high_right),
            )
            for row in rows
        ],
        left_label=left.short,
        right_label=right.short,
        title=title or f"{comparison.subject_name}: {left.short} vs {right.short}",
    )
    return ComparisonView(
        preset=comparison.preset,
        subject=comparison.subject,
        subject_name=comparison.subject_name,
        left=left,
        right=right,
        dominant_left=dominant(comparison, "left"),
        dominant_right=dominant(comparison, "right"),
        profile_distance=fmt(comparison.profile_distance),
        method=METHOD_NAMES.get(comparison.method, comparison.method),
        rows=comparison_table(comparison.rows),
        chart=chart,
    )


COMPARISON_CSV_HEADER = [
    "wave",
    "preset",
    "subject",
    "left",
    "right",
    *COMPARISON_ROLE_COLUMNS,
    "dominant_left",
    "dominant_right",
    "profile_distance",
]


def comparison_csv_rows(wave: str, comparisons: Iterable[StoredComparison]) -> list[list[str]]:
    """One CSV row per role of each comparison (``COMPARISON_CSV_HEADER``)."""
    rows = []
    for comparison in comparisons:
        for row in comparison.rows:
            rows.append(
                [
                    wave,
                    comparison.preset,
                    comparison.subject,
                    comparison.left_label,
                    comparison.right_label,
                    row.role,
                    str(row.n_left),
                    *(
                        csv_number(getattr(row, name))
                        for name in ("mean_left", "sd_left", "ci_low_left", "ci_high_left")
                    ),
                    str(row.n_right),
                    *(
                        csv_number(getattr(row, name))
                        for name in (
                            "mean_right",
                            "sd_right",
                            "ci_low_right",
                            "ci_high_right",
                            "diff",
                            "diff_ci_low",
                            "diff_ci_high",
                            "hedges_g",
                            "p_value",
                            "p_adjusted",
                        )
                    ),
                    comparison.method,
                    comparison.dominant_left,
                    comparison.dominant_right,
                    csv_number(comparison.profile_distance),
                ]
            )
    return rows


@dataclass(frozen=True)
class MatrixRow:
    subject: str
    subject_name: str
    cells: list[TableCell]


@dataclass(frozen=True)
class Matrix:
    roles: list[tuple[str, str]]
    rows: list[MatrixRow]


def overview_matrix(comparisons: Sequence[StoredComparison]) -> Matrix:
    """Subjects × roles, each cell the stored difference (left − right), coloured; the class
    ``sig`` marks an adjusted p below 0.05.

    Roles in typology order as they come from the selector; a role a subject was not asked
    about shows "–". A cell's title carries the CI and the adjusted p for a hover.
    """
    roles: dict[str, str] = {}
    for comparison in comparisons:
        for row in comparison.rows:
            roles.setdefault(row.role, row.role_name)
    matrix_rows = []
    for comparison in comparisons:
        by_role = {row.role: row for row in comparison.rows}
        cells = []
        for code, name in roles.items():
            row = by_role.get(code)
            if row is None:
                cells.append(TableCell(MISSING, "heat-na", f"{name}: not asked"))
                continue
            significant = is_number(row.p_adjusted) and row.p_adjusted < 0.05
            cells.append(
                TableCell(
                    fmt(row.diff),
                    heat_class(row.diff) + (" sig" if significant else ""),
                    f"{comparison.subject_name}, {name}: difference {fmt(row.diff)} "
                    f"{fmt_ci(row.diff_ci_low, row.diff_ci_high)}, "
                    f"adjusted p {fmt_p(row.p_adjusted)}",
                )
            )
        matrix_rows.append(MatrixRow(comparison.subject, comparison.subject_name, cells))
    return Matrix(roles=list(roles.items()), rows=matrix_rows)


# --------------------------------------------------------------------------------------------
# SVG
# --------------------------------------------------------------------------------------------

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


def _tag(name: str, content: str = "", **attributes: object) -> str:
    if content:
        return f"<{name}{_attrs(attributes)}>{content}</{name}>"
    return f"<{name}{_attrs(attributes)}/>"


def _text(x: float, y: float, text: str, **attributes: object) -> str:
    attributes.setdefault("fill", TEXT_COLOUR)
    attributes.setdefault("font_size", 13)
    return _tag("text", escape(text), x=_r(x), y=_r(y), **attributes)


def _r(number: float) -> str:
    return f"{number:.1f}".rstrip("0").rstrip(".")


def _svg(width: float, height: float, title: str, body: list[str]) -> SafeString:
    content = "".join([_tag("title", escape(title)), *body])
    # Safe: every text and attribute value above went through html.escape.
    return mark_safe(
        _tag(
            "svg",
            content,
            xmlns="http://www.w3.org/2000/svg",
            viewBox=f"0 0 {_r(width)} {_r(height)}",
            width=_r(width),
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

    body = [_tag("rect", x=0, y=0, width=_r(width), height=_r(height), fill="#ffffff")]
    # legend
    body += [
        _tag("circle", cx=_r(x0 + 6), cy=18, r=6, fill=LEFT_COLOUR),
        _text(x0 + 18, 23, left_label),
        _tag("circle", cx=_r(x0 + 6), cy=40, r=6, fill=RIGHT_COLOUR),
        _text(x0 + 18, 45, right_label),
    ]
    plot_bottom = top + row_height * max(len(rows), 1)
    for tick in nice_ticks(low, high, 6):
        body.append(
            _tag(
                "line",
                x1=_r(x(tick)),
                x2=_r(x(tick)),
                y1=_r(top - 4),
                y2=_r(plot_bottom),
                stroke=GRID_COLOUR,
            )
        )
        body.append(_text(x(tick), plot_bottom + 18, fmt(tick, 0), text_anchor="middle"))
    body.append(
        _tag(
            "line",
            x1=_r(x0),
            x2=_r(x1),
            y1=_r(plot_bottom),
            y2=_r(plot_bottom),
            stroke=AXIS_COLOUR,
        )
    )
    body.append(_text((x0 + x1) / 2, height - 10, axis_label, text_anchor="middle"))
    for index, row in enumerate(rows):
        middle = top + row_height * index + row_height / 2
        if index % 2:
            body.append(
                _tag(
                    "rect",
                    x=0,
                    y=_r(middle - row_height / 2),
                    width=_r(x1),
                    height=_r(row_height),
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
                    _tag(
                        "line",
                        x1=_r(x(ci_low)),
                        x2=_r(x(ci_high)),
                        y1=_r(y),
                        y2=_r(y),
                        stroke=colour,
                        stroke_width=2,
                    )
                )
                for end in (ci_low, ci_high):
                    body.append(
                        _tag(
                            "line",
                            x1=_r(x(end)),
                            x2=_r(x(end)),
                            y1=_r(y - 3.5),
                            y2=_r(y + 3.5),
                            stroke=colour,
                            stroke_width=2,
                        )
                    )
            if is_number(mean):
                body.append(
                    _tag(
                        "circle",
                        _tag(
                            "title",
                            escape(f"{row.label}, {side}: {fmt(mean)} {fmt_ci(ci_low, ci_high)}"),
                        ),
                        cx=_r(x(mean)),
                        cy=_r(y),
                        r=5,
                        fill=colour,
                        stroke="#ffffff",
                        stroke_width=1,
                    )
                )
    return _svg(width, height, title, body)


def _clip(text: str, length: int) -> str:
    return text if len(text) <= length else text[: length - 1] + "…"


LABEL_LINE_CHARS = 21


def label_lines(text: str, length: int = LABEL_LINE_CHARS) -> list[str]:
    """A label in one line, or two split at the space or hyphen nearest the middle."""
    if len(text) <= length:
        return [text]
    breaks = [i for i, char in enumerate(text) if char in " -–" and 0 < i < len(text) - 1]
    if not breaks:
        return [_clip(text, length)]
    cut = min(breaks, key=lambda i: abs(i - len(text) / 2))
    first = text[: cut + 1].rstrip() if text[cut] != " " else text[:cut]
    return [_clip(first, length), _clip(text[cut + 1 :].strip(), length)]


def _label(x: float, middle: float, text: str) -> str:
    """A right-aligned row label centred on ``middle``, wrapped to two lines if long."""
    lines = label_lines(text)
    if len(lines) == 1:
        return _text(x, middle + 4.5, text, text_anchor="end")
    spans = "".join(
        _tag("tspan", escape(line), x=_r(x), dy="0" if n == 0 else "14")
        for n, line in enumerate(lines)
    )
    return _tag(
        "text",
        spans,
        x=_r(x),
        y=_r(middle - 2.5),
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

    body = [_tag("rect", x=0, y=0, width=_r(width), height=_r(height), fill="#ffffff")]
    for tick in nice_ticks(low, high, 6):
        body.append(
            _tag("line", x1=_r(x0), x2=_r(x1), y1=_r(y(tick)), y2=_r(y(tick)), stroke=GRID_COLOUR)
        )
        body.append(_text(x0 - 8, y(tick) + 4.5, fmt(tick, 1), text_anchor="end"))
    if zero_line and low < 0 < high:
        body.append(
            _tag("line", x1=_r(x0), x2=_r(x1), y1=_r(y(0)), y2=_r(y(0)), stroke=AXIS_COLOUR)
        )
    body.append(_tag("line", x1=_r(x0), x2=_r(x1), y1=_r(y0), y2=_r(y0), stroke=AXIS_COLOUR))
    body.append(_tag("line", x1=_r(x0), x2=_r(x0), y1=_r(y0), y2=_r(y1), stroke=AXIS_COLOUR))
    for index, label in enumerate(x_labels):
        body.append(_text(x(index), y0 + 20, _clip(label, 18), text_anchor="middle"))
    body.append(_text((x0 + x1) / 2, plot_height - 14, x_label, text_anchor="middle"))
    body.append(
        _text(
            16,
            (y0 + y1) / 2,
            y_label,
            text_anchor="middle",
            transform=f"rotate(-90 16 {_r((y0 + y1) / 2)})",
        )
    )
    for number, line in enumerate(series):
        colour = SERIES_COLOURS[number % len(SERIES_COLOURS)]
        body += _series_shapes(line, colour, x, y)
        legend_x = 16 + (number % legend_columns) * (width - 32) / legend_columns
        legend_y = plot_height + 12 + (number // legend_columns) * legend_row
        body.append(
            _tag(
                "line",
                x1=_r(legend_x),
                x2=_r(legend_x + 24),
                y1=_r(legend_y),
                y2=_r(legend_y),
                stroke=colour,
                stroke_width=3,
            )
        )
        body.append(_tag("circle", cx=_r(legend_x + 12), cy=_r(legend_y), r=4, fill=colour))
        body.append(_text(legend_x + 32, legend_y + 4.5, _clip(line.label, 34)))
    if not series:
        body.append(_text((x0 + x1) / 2, (y0 + y1) / 2, "No data", text_anchor="middle"))
    return _svg(width, height, title, body)


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
            upper = [f"{_r(x(i))},{_r(y(line.points[i][2]))}" for i in run]
            lower = [f"{_r(x(i))},{_r(y(line.points[i][1]))}" for i in reversed(run)]
            shapes.append(
                _tag("polygon", points=" ".join(upper + lower), fill=colour, fill_opacity="0.13")
            )
        if len(run) >= 2:
            shapes.append(
                _tag(
                    "polyline",
                    points=" ".join(f"{_r(x(i))},{_r(y(line.points[i][0]))}" for i in run),
                    fill="none",
                    stroke=colour,
                    stroke_width=2.5,
                )
            )
        for i in run:
            value, ci_low, ci_high = line.points[i]
            if is_number(ci_low) and is_number(ci_high):
                shapes.append(
                    _tag(
                        "line",
                        x1=_r(x(i)),
                        x2=_r(x(i)),
                        y1=_r(y(ci_low)),
                        y2=_r(y(ci_high)),
                        stroke=colour,
                        stroke_width=1.5,
                        stroke_opacity="0.6",
                    )
                )
            shapes.append(
                _tag(
                    "circle",
                    _tag("title", escape(f"{line.label}: {fmt(value)} {fmt_ci(ci_low, ci_high)}")),
                    cx=_r(x(i)),
                    cy=_r(y(value)),
                    r=4.5,
                    fill=colour,
                )
            )
    return shapes


@dataclass(frozen=True)
class TrendTableRow:
    label: str
    cells: list[str]


@dataclass(frozen=True)
class TrendView:
    chart: SafeString
    waves: list[str]
    rows: list[TrendTableRow]
    roles: list[str]


TREND_DEFAULT_SERIES = 5


def trend_default_roles(points: Sequence[TrendPoint], limit: int = TREND_DEFAULT_SERIES):
    """The roles to draw when none were chosen: the ``limit`` largest by |value| in any wave."""
    peak: dict[str, float] = {}
    for point in points:
        if is_number(point.value):
            peak[point.role] = max(peak.get(point.role, 0.0), abs(point.value))
    return sorted(peak, key=lambda role: -peak[role])[:limit]


def trend_view(
    points: Sequence[TrendPoint],
    *,
    waves: Sequence[str],
    roles: Sequence[str],
    y_label: str,
    title: str,
    differences: bool,
) -> TrendView:
    """A line per role over the waves, and the same numbers as a table (value [CI] n)."""
    by_role: dict[str, dict[str, TrendPoint]] = {}
    names: dict[str, str] = {}
    for point in points:
        if point.role in roles:
            by_role.setdefault(point.role, {})[point.wave] = point
            names[point.role] = point.role_name
    ordered = [role for role in roles if role in by_role]
    series = [
        Series(
            label=names[role],
            points=[
                (p.value, p.ci_low, p.ci_high) if (p := by_role[role].get(wave)) else None
                for wave in waves
            ],
        )
        for role in ordered
    ]
    chart = line_chart_svg(
        x_labels=waves,
        series=series,
        y_label=y_label,
        x_label="Wave",
        title=title,
        y_domain=None if differences else SCALE_DOMAIN,
        zero_line=differences,
    )
    rows = [
        TrendTableRow(
            label=names[role],
            cells=[
                f"{fmt(p.value)} {fmt_ci(p.ci_low, p.ci_high)} n={p.n}"
                if (p := by_role[role].get(wave))
                else MISSING
                for wave in waves
            ],
        )
        for role in ordered
    ]
    return TrendView(chart=chart, waves=list(waves), rows=rows, roles=ordered)


TREND_CSV_HEADER = ["wave", "role", "value", "ci_low", "ci_high", "n"]


def trend_csv_rows(points: Iterable[TrendPoint], roles: Sequence[str]) -> list[list[str]]:
    return [
        [p.wave, p.role, csv_number(p.value), csv_number(p.ci_low), csv_number(p.ci_high), str(p.n)]
        for p in points
        if p.role in roles
    ]


# --------------------------------------------------------------------------------------------
# Panel progress
# --------------------------------------------------------------------------------------------

PROGRESS_COLOURS = {
    "submitted": "#1a7f37",
    "started": "#e0a800",
    "not_started": "#c8c8c8",
}


@dataclass(frozen=True)
class ProgressRow:
    panel: str
    city: str
    invited: int
    sent: int
    started: int
    submitted: int
    not_started: int
    response_rate: str


def progress_rows(progress: Sequence[PanelProgress]) -> list[ProgressRow]:
    """The panels' rows and a total row last."""
    rows = [
        ProgressRow(
            p.panel,
            p.city,
            p.invited,
            p.sent,
            p.started,
            p.submitted,
            p.not_started,
            fmt_rate(p.response_rate),
        )
        for p in progress
    ]
    invited = sum(p.invited for p in progress)
    submitted = sum(p.submitted for p in progress)
    started = sum(p.started for p in progress)
    rows.append(
        ProgressRow(
            "all",
            "All panels",
            invited,
            sum(p.sent for p in progress),
            started,
            submitted,
            invited - started - submitted,
            fmt_rate(submitted / invited if invited else None),
        )
    )
    return rows


def progress_svg(progress: Sequence[PanelProgress], *, title: str) -> SafeString:
    """One stacked horizontal bar per panel: submitted, started, not started (of invited)."""
    width, label_width, right_margin = 620.0, 150.0, 80.0
    top, row_height, bottom = 44.0, 30.0, 44.0
    height = top + row_height * max(len(progress), 1) + bottom
    x0, x1 = label_width, width - right_margin
    body = [_tag("rect", x=0, y=0, width=_r(width), height=_r(height), fill="#ffffff")]
    legend_x = x0
    for key, label in (
        ("submitted", "submitted"),
        ("started", "started (draft)"),
        ("not_started", "not started"),
    ):
        body.append(
            _tag("rect", x=_r(legend_x), y=10, width=14, height=14, fill=PROGRESS_COLOURS[key])
        )
        body.append(_text(legend_x + 20, 22, label))
        legend_x += 34 + 8 * len(label)
    for index, p in enumerate(progress):
        y = top + index * row_height
        body.append(_text(x0 - 10, y + row_height / 2 + 4.5, p.city, text_anchor="end"))
        position = x0
        for key, count in (
            ("submitted", p.submitted),
            ("started", p.started),
            ("not_started", p.not_started),
        ):
            if not p.invited or not count:
                continue
            span = count / p.invited * (x1 - x0)
            body.append(
                _tag(
                    "rect",
                    _tag("title", escape(f"{p.city}: {count} {key.replace('_', ' ')}")),
                    x=_r(position),
                    y=_r(y + 5),
                    width=_r(span),
                    height=_r(row_height - 10),
                    fill=PROGRESS_COLOURS[key],
                )
            )
            position += span
        body.append(_text(x1 + 8, y + row_height / 2 + 4.5, fmt_rate(p.response_rate)))
    axis_y = top + row_height * max(len(progress), 1)
    body.append(
        _tag("line", x1=_r(x0), x2=_r(x1), y1=_r(axis_y), y2=_r(axis_y), stroke=AXIS_COLOUR)
    )
    for share in (0, 0.25, 0.5, 0.75, 1):
        body.append(
            _text(x0 + share * (x1 - x0), axis_y + 16, f"{share:.0%}", text_anchor="middle")
        )
    body.append(_text((x0 + x1) / 2, height - 6, "Share of invited experts", text_anchor="middle"))
    return _svg(width, height, title, body)


PROGRESS_CSV_HEADER = ["panel", "invited", "sent", "started", "submitted", "response_rate"]


def progress_csv_rows(progress: Sequence[PanelProgress]) -> list[list[str]]:
    return [
        [
            p.panel,
            str(p.invited),
            str(p.sent),
            str(p.started),
            str(p.submitted),
            csv_number(p.response_rate),
        ]
        for p in progress
    ]


EXPERT_STATUS_CSV_HEADER = [
    "expert",
    "panel",
    "language",
    "active",
    "invitation_status",
    "created_at",
    "sent_at",
    "opened_at",
    "submitted_at",
    "reminders_sent",
    "last_reminder_at",
    "response_status",
]


def expert_status_csv_rows(statuses: Iterable[ExpertStatus]) -> list[list[str]]:
    """Pseudonymous: the expert's number, never a name or an e-mail."""

    def when(value) -> str:
        return value.isoformat() if value else ""

    return [
        [
            f"expert-{s.expert_id}",
            s.panel,
            s.language,
            "yes" if s.expert_active else "no",
            s.status,
            when(s.created_at),
            when(s.sent_at),
            when(s.opened_at),
            when(s.submitted_at),
            str(s.reminders_sent),
            when(s.last_reminder_at),
            s.response_status or "",
        ]
        for s in statuses
    ]


# --------------------------------------------------------------------------------------------
# CSV
# --------------------------------------------------------------------------------------------


def csv_text(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """RFC 4180 CSV with a header row. A cell starting with = + - @ gets a leading quote so
    that a spreadsheet does not run it as a formula (numbers are left alone)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([_csv_safe(cell) for cell in row])
    return buffer.getvalue()


def _csv_safe(cell: str) -> str:
    if cell and cell[0] in "=+-@\t\r":
        try:
            float(cell)
        except ValueError:
            return "'" + cell
    return cell
