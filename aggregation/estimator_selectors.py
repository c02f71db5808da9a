"""Reads of the estimators' result sets side by side: where plain and corrected disagree.

A corrected estimator disagrees with the plain means on a role of a comparison when their
differences (left − right) have opposite signs, or when one is significant and the other is
not (``ComparisonRoleRow.significant``: below 0.05 after the Benjamini–Hochberg adjustment,
or, for the ordinal IRT, a 95 % interval that excludes zero).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from aggregation.engine import ESTIMATOR_NAME
from aggregation.estimator_runs import CORRECTED_ESTIMATORS
from aggregation.selectors import (
    ComparisonRoleRow,
    EstimatorSummary,
    comparisons_stored,
    estimator_summaries,
)


def _sign(value: float | None) -> int | None:
    if value is None or value == 0:
        return None
    return 1 if value > 0 else -1


@dataclass(frozen=True)
class EstimatorDifference:
    """One estimator's difference on one role, and whether it disagrees with the plain one."""

    estimator: str
    row: ComparisonRoleRow | None
    sign_differs: bool = False
    significance_differs: bool = False

    @property
    def disagrees(self) -> bool:
        return self.sign_differs or self.significance_differs


def differs_from_plain(
    diff: float | None,
    significant: bool | None,
    plain_diff: float | None,
    plain_significant: bool | None,
) -> tuple[bool, bool]:
    """(sign differs, significance differs) of a corrected difference against the plain
    one; False where either is unknown (or a difference is zero)."""
    signs = _sign(diff), _sign(plain_diff)
    significance = significant, plain_significant
    return (
        None not in signs and signs[0] != signs[1],
        None not in significance and significance[0] != significance[1],
    )


def _against_plain(
    estimator: str, row: ComparisonRoleRow | None, plain: ComparisonRoleRow | None
) -> EstimatorDifference:
    if row is None or plain is None:
        return EstimatorDifference(estimator, row)
    sign, significance = differs_from_plain(
        row.diff, row.significant, plain.diff, plain.significant
    )
    return EstimatorDifference(estimator, row, sign_differs=sign, significance_differs=significance)


@dataclass(frozen=True)
class RoleAcrossEstimators:
    role: str
    role_name: str
    plain: ComparisonRoleRow | None
    corrected: tuple[EstimatorDifference, ...]

    @property
    def disagrees(self) -> bool:
        return any(difference.disagrees for difference in self.corrected)


@dataclass(frozen=True)
class ComparisonAcrossEstimators:
    """A preset comparison of one subject under every estimator of a run."""

    estimators: tuple[EstimatorSummary, ...]
    """The corrected estimators' result sets (status, mode, convergence), in order."""
    roles: tuple[RoleAcrossEstimators, ...]

    @property
    def disagreements(self) -> int:
        return sum(role.disagrees for role in self.roles)


def comparison_across_estimators(
    *, run_id: int, preset: str, subject: str
) -> ComparisonAcrossEstimators:
    """The plain and every corrected estimator's differences of one comparison, role by role
    in the plain comparison's order (one query per estimator)."""
    summaries = estimator_summaries(run_id=run_id)
    by_estimator: dict[str, dict[str, ComparisonRoleRow]] = {}
    names: dict[str, str] = {}
    for estimator in (ESTIMATOR_NAME, *CORRECTED_ESTIMATORS):
        stored = comparisons_stored(
            run_id=run_id, preset=preset, subject=subject, estimator=estimator
        )
        rows = stored[0].rows if stored else ()
        by_estimator[estimator] = {row.role: row for row in rows}
        names.update({row.role: row.role_name for row in rows})
    plain = by_estimator[ESTIMATOR_NAME]
    roles = tuple(
        RoleAcrossEstimators(
            role=role,
            role_name=names[role],
            plain=plain.get(role),
            corrected=tuple(
                _against_plain(estimator, by_estimator[estimator].get(role), plain.get(role))
                for estimator in CORRECTED_ESTIMATORS
            ),
        )
        for role in [*plain, *(r for r in names if r not in plain)]
    )
    missing = EstimatorSummary(
        "", "", "missing", "not computed in this run", "", None, None, None, 0
    )
    estimators = tuple(
        summaries.get(estimator, replace(missing, estimator=estimator))
        for estimator in CORRECTED_ESTIMATORS
    )
    return ComparisonAcrossEstimators(estimators=estimators, roles=roles)
