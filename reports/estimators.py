"""The estimators on the report pages: their names, each result set's status line, and the
plain-vs-corrected table of a comparison with its disagreement flags, as finished text."""

from __future__ import annotations

from dataclasses import dataclass

from aggregation.estimator_selectors import (
    ComparisonAcrossEstimators,
    EstimatorDifference,
)
from aggregation.estimators import ESTIMATORS
from aggregation.selectors import ComparisonRoleRow, EstimatorSummary
from reports.formats import fmt, fmt_ci

ESTIMATOR_LABELS = {
    "plain_means": "Plain means",
    "aldrich_mckelvey": "Aldrich–McKelvey",
    "ordinal_irt": "Ordinal IRT",
    "vignette_cscores": "Vignette C-scores",
}
NOT_CONVERGED = "not converged"


def estimator_options() -> list[tuple[str, str]]:
    return [(name, ESTIMATOR_LABELS.get(name, name)) for name in ESTIMATORS]


def estimator_status(summary: EstimatorSummary | None) -> str:
    """E.g. "Ordinal IRT 1.0, full posterior: not converged (12 % of R-hats above 1.01)"."""
    if summary is None:
        return "not computed in this run"
    label = ESTIMATOR_LABELS.get(summary.estimator, summary.estimator)
    if summary.status == "not_applicable":
        return f"{label}: {summary.note}"
    if summary.status != "complete":
        return f"{label}: {summary.status} ({summary.note})" if summary.note else label
    text = f"{label} {summary.version}"
    if summary.mode:
        text += ", full posterior (NUTS)" if summary.mode == "full" else ", fast mode"
    if summary.not_converged:
        text += f": {NOT_CONVERGED}"
        if summary.rhat_share_above is not None:
            text += f" ({100 * summary.rhat_share_above:.0f} % of R-hats above 1.01)"
    if summary.unidentified_experts:
        text += f"; {summary.unidentified_experts} experts without an identified scale map"
    return text


@dataclass(frozen=True)
class DifferenceCell:
    text: str
    interval: str
    note: str
    flag: str
    css: str


def _cell(row: ComparisonRoleRow | None, difference: EstimatorDifference | None) -> DifferenceCell:
    if row is None:
        return DifferenceCell("–", "", "", "", "")
    notes = []
    if row.p_adjusted is not None:
        notes.append(f"adj. p {row.p_adjusted:.3f}")
    if row.prob_sign is not None:
        notes.append(f"P(sign) {row.prob_sign:.2f}")
    flags = []
    if difference is not None and difference.sign_differs:
        flags.append("sign differs")
    if difference is not None and difference.significance_differs:
        flags.append("significance differs")
    return DifferenceCell(
        text=fmt(row.diff) + ("*" if row.significant else ""),
        interval=fmt_ci(row.diff_ci_low, row.diff_ci_high),
        note=", ".join(notes),
        flag="; ".join(flags),
        css="disagrees" if flags else "",
    )


@dataclass(frozen=True)
class SideBySideRow:
    role: str
    role_name: str
    plain: DifferenceCell
    corrected: tuple[DifferenceCell, ...]
    disagrees: bool


@dataclass(frozen=True)
class SideBySideView:
    columns: tuple[tuple[str, str], ...]
    """(label, status line) of each corrected estimator."""
    rows: tuple[SideBySideRow, ...]
    disagreements: int


def side_by_side_view(across: ComparisonAcrossEstimators) -> SideBySideView:
    return SideBySideView(
        columns=tuple(
            (ESTIMATOR_LABELS.get(summary.estimator, summary.estimator), estimator_status(summary))
            for summary in across.estimators
        ),
        rows=tuple(
            SideBySideRow(
                role=role.role,
                role_name=role.role_name,
                plain=_cell(role.plain, None),
                corrected=tuple(_cell(d.row, d) for d in role.corrected),
                disagrees=role.disagrees,
            )
            for role in across.roles
        ),
        disagreements=across.disagreements,
    )
