"""The tables of the report pages: a comparison role by role, the overview matrix, the trends,
and their CSV rows. Each returns finished strings and the charts of ``reports.svg``."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.utils.safestring import SafeString

from aggregation.engine import COMPARISON_ROLE_COLUMNS
from reports.formats import (
    G_STEPS,
    MISSING,
    SCALE_DOMAIN,
    csv_number,
    fmt,
    fmt_ci,
    fmt_p,
    heat_class,
    is_number,
)
from reports.svg import DotRow, Series, dot_whisker_svg, line_chart_svg
from reports.wording import Side, preset_sides

if TYPE_CHECKING:  # the dataclasses only; this module never touches the database
    from aggregation.selectors import (
        ActorPlace,
        ComparisonRoleRow,
        StoredComparison,
        TrendPoint,
    )


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
    n_label: str
    """What n counts: "pairs" in a paired comparison, else "n" (ratings)."""
    rows: list[ComparisonTableRow]
    chart: SafeString


METHOD_NAMES = {
    "welch": "Welch t (independent panels)",
    "paired": "paired t (the same experts; n counts pairs)",
    "overlapping": "partially overlapping samples t (one panel's experts on both sides)",
}

FAMILY_OPTIONS = [
    ("comparison", "within each comparison (its roles)"),
    ("wave_preset", "across the wave and comparison (every actor and role)"),
]


def family_note(comparisons: Sequence[StoredComparison]) -> str:
    """What the adjusted p-values on the page were adjusted over, and how many tests that is."""
    rows = [row for comparison in comparisons for row in comparison.rows]
    if not rows:
        return ""
    sizes = sorted({row.family_size for row in rows})
    if rows[0].family == "wave_preset":
        return (
            f"Adjusted p: Benjamini–Hochberg across every test of this wave and comparison "
            f"(every actor and role): {sizes[-1]} tests."
        )
    count = str(sizes[0]) if len(sizes) == 1 else f"{sizes[0]}–{sizes[-1]}"
    return (
        "Adjusted p: Benjamini–Hochberg across the roles of each comparison "
        f"({count} tests per comparison)."
    )


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
        n_label="pairs" if comparison.method == "paired" else "n",
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
    "prob_sign",
    "estimator",
]


def _csv_cell(comparison: StoredComparison, row: ComparisonRoleRow, name: str) -> str:
    if name == "method":
        return comparison.method
    if name == "role":
        return row.role
    if name in ("n_left", "n_right", "family_size", "family"):
        return str(getattr(row, name))
    return csv_number(getattr(row, name))


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
                    *(_csv_cell(comparison, row, name) for name in COMPARISON_ROLE_COLUMNS),
                    comparison.dominant_left,
                    comparison.dominant_right,
                    csv_number(comparison.profile_distance),
                    csv_number(row.prob_sign),
                    comparison.estimator,
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
