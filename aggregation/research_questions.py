"""The study's research questions: the shipped saved comparisons' stored results, per wave.

``research_results_load`` reads (one query per result table) the results of the current
version of every saved comparison that answers a research question, from each wave's
newest complete run. ``research_questions_table`` is a pure function over those rows: the
table of the release bundle, one row per (comparison, wave, role), with the change of the
difference since the previous wave and its interval (``comparison_builder.gap_change``).

Estimators: every row says which estimator its numbers come from (the plain means).
Runs with complete corrected result sets also store each saved comparison under every
corrected estimator (``aggregation.saved_corrected``); ``research_corrected_load`` reads
those rows and ``corrected_checks`` says, per corrected estimator, whether it disagrees with
a plain result in sign or in significance, as the comparison page's flags do
(``estimator_selectors.differs_from_plain``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields

import numpy as np
import pandas as pd
from django.db.models import F
from scipy import stats as sps

from aggregation.comparison_builder import gap_change
from aggregation.comparison_stats import significant_difference
from aggregation.engine import ESTIMATOR_NAME
from aggregation.estimator_runs import CORRECTED_ESTIMATORS
from aggregation.estimator_selectors import differs_from_plain
from aggregation.models import (
    ComparisonResult,
    InterRoleResult,
    SavedComparison,
    SavedComparisonVersion,
)
from aggregation.saved_comparisons import saved_versions_current
from aggregation.selectors import _latest_complete_run_id
from surveys.models import Wave


@dataclass(frozen=True)
class ResearchResult:
    """One role (``roles`` kind) or one pair of roles (``inter_role``: ``role`` against
    ``role_b``) of a saved comparison in one wave; numbers None where there were none."""

    question: str
    comparison: str
    name: str
    version: int
    kind: str
    wave: str
    estimator: str
    left_panel: str
    left_holder: str
    left_subject: str
    left_perspective: str
    right_panel: str
    right_holder: str
    right_subject: str
    right_perspective: str
    role: str
    role_b: str
    method: str
    n_left: int
    mean_left: float | None
    ci_low_left: float | None
    ci_high_left: float | None
    n_right: int
    mean_right: float | None
    ci_low_right: float | None
    ci_high_right: float | None
    diff: float | None
    diff_ci_low: float | None
    diff_ci_high: float | None
    se_diff: float | None
    df: float | None
    p_value: float | None
    p_adjusted: float | None
    hedges_g: float | None
    r: float | None = None
    r_ci_low: float | None = None
    r_ci_high: float | None = None
    prob_sign: float | None = None
    family: str = ""
    family_size: int = 0

    @property
    def significant(self) -> bool | None:
        """As ``ComparisonRoleRow.significant`` (``significant_difference``)."""
        return significant_difference(self.p_adjusted, self.diff_ci_low, self.diff_ci_high)


@dataclass(frozen=True)
class CorrectedCheck:
    """One corrected estimator's result for a plain result: does it disagree, and how."""

    estimator: str
    sign_differs: bool
    significance_differs: bool

    @property
    def disagrees(self) -> bool:
        return self.sign_differs or self.significance_differs

    def text(self) -> str:
        """E.g. "vignette_cscores: significance differs" or "aldrich_mckelvey: agrees"."""
        flags = [
            flag
            for flag, on in (
                ("sign differs", self.sign_differs),
                ("significance differs", self.significance_differs),
            )
            if on
        ]
        return f"{self.estimator}: {', '.join(flags) or 'agrees'}"


RESULT_FIELDS = [item.name for item in fields(ResearchResult)]
TABLE_COLUMNS = [
    *RESULT_FIELDS,
    "previous_wave",
    "change",
    "change_ci_low",
    "change_ci_high",
    "corrected_estimator_disagrees",
    "corrected_checks",
]


# Reads ----------------------------------------------------------------------------------------


def waves_in_order() -> list[str]:
    """Every wave's slug, oldest first (the order of the trends)."""
    return list(
        Wave.objects.order_by(F("opens_at").asc(nulls_last=True), "slug").values_list(
            "slug", flat=True
        )
    )


def research_versions() -> list[SavedComparisonVersion]:
    """The current version of each saved comparison that answers a research question."""
    return [version for version in saved_versions_current() if version.saved_comparison.question]


def research_results_load(*, versions: Sequence[SavedComparisonVersion] | None = None):
    """The stored plain-means results of the research questions' current versions in each
    wave's newest complete run, as ``ResearchResult`` rows (two queries)."""
    versions = research_versions() if versions is None else versions
    by_pk = {version.pk: version for version in versions}
    results = _roles_load(by_pk, estimators=[ESTIMATOR_NAME])
    latest = Wave.objects.annotate(run_id=_latest_complete_run_id()).values("run_id")
    inter = (
        InterRoleResult.objects.filter(run_id__in=latest, saved_version_id__in=list(by_pk))
        .order_by("saved_version_id", "run__wave__opens_at")
        .values(
            "saved_version_id",
            "role_a",
            "role_b",
            "n",
            "mean_a",
            "mean_b",
            "diff",
            "ci_low",
            "ci_high",
            "p_value",
            "hedges_g",
            "r",
            "r_ci_low",
            "r_ci_high",
            wave=F("run__wave__slug"),
            estimator=F("run__estimator_name"),
        )
    )
    results += [_inter_result(by_pk[row.pop("saved_version_id")], row) for row in inter]
    return results


def research_corrected_load(*, versions: Sequence[SavedComparisonVersion] | None = None):
    """The research questions' role-by-role results under every corrected estimator in each
    wave's newest complete run (``aggregation.saved_corrected``), as ``ResearchResult`` rows
    (one query); empty where no run stored them."""
    versions = research_versions() if versions is None else versions
    by_pk = {version.pk: version for version in versions}
    return _roles_load(by_pk, estimators=list(CORRECTED_ESTIMATORS))


ROLE_VALUES = [
    "saved_version_id",
    "method",
    "n_left",
    "mean_left",
    "ci_low_left",
    "ci_high_left",
    "n_right",
    "mean_right",
    "ci_low_right",
    "ci_high_right",
    "diff",
    "diff_ci_low",
    "diff_ci_high",
    "se_diff",
    "df",
    "p_value",
    "p_adjusted",
    "hedges_g",
    "estimator",
    "prob_sign",
    "family",
    "family_size",
]


def _roles_load(by_pk: dict, *, estimators: list[str]) -> list[ResearchResult]:
    """The saved versions' role rows under those estimators in each wave's newest complete
    run (one query)."""
    latest = Wave.objects.annotate(run_id=_latest_complete_run_id()).values("run_id")
    roles = (
        ComparisonResult.objects.filter(
            run_id__in=latest, saved_version_id__in=list(by_pk), estimator__in=estimators
        )
        .order_by("saved_version_id", "run__wave__opens_at", "role__order", "estimator")
        .values(*ROLE_VALUES, wave=F("run__wave__slug"), role_code=F("role__code"))
    )
    return [
        _result(by_pk[row.pop("saved_version_id")], role=row.pop("role_code"), **row)
        for row in roles
    ]


def _result(version: SavedComparisonVersion, **numbers) -> ResearchResult:
    saved: SavedComparison = version.saved_comparison
    return ResearchResult(
        question=saved.question,
        comparison=saved.slug,
        name=saved.name,
        version=version.number,
        kind=version.kind,
        **{
            f"{side}_{name}": getattr(version, f"{side}_{name}")
            for side in ("left", "right")
            for name in ("panel", "holder", "subject", "perspective")
        },
        role_b=numbers.pop("role_b", ""),
        **numbers,
    )


def _inter_result(version: SavedComparisonVersion, row: dict) -> ResearchResult:
    """An inter-role result in the shape of the others: left is role a, right role b, the
    paired t's se and df recovered from its interval (df = n − 1)."""
    n = row["n"]
    df = float(n - 1) if n >= 2 else None
    se = None
    if df and row["ci_high"] is not None and row["diff"] is not None:
        se = (row["ci_high"] - row["diff"]) / float(sps.t.ppf(0.975, df))
    return _result(
        version,
        wave=row["wave"],
        estimator=row["estimator"],
        role=row["role_a"],
        role_b=row["role_b"],
        method="paired",
        n_left=n,
        mean_left=row["mean_a"],
        ci_low_left=None,
        ci_high_left=None,
        n_right=n,
        mean_right=row["mean_b"],
        ci_low_right=None,
        ci_high_right=None,
        diff=row["diff"],
        diff_ci_low=row["ci_low"],
        diff_ci_high=row["ci_high"],
        se_diff=se,
        df=df,
        p_value=row["p_value"],
        p_adjusted=None,  # one test: no family to adjust over
        hedges_g=row["hedges_g"],
        r=row["r"],
        r_ci_low=row["r_ci_low"],
        r_ci_high=row["r_ci_high"],
    )


# The bundle's table (pure) --------------------------------------------------------------------


def corrected_checks(
    result: ResearchResult, corrected: Sequence[ResearchResult] = ()
) -> tuple[CorrectedCheck, ...]:
    """Each corrected estimator's check of ``result``: the results of ``corrected`` with the
    same comparison, wave and role under another estimator, with whether their difference
    has the other sign or the other significance (``differs_from_plain``, the comparison
    page's "sign differs"/"significance differs"). Empty when there is none."""
    checks = []
    for other in corrected:
        same = (other.comparison, other.wave, other.role, other.role_b) == (
            result.comparison,
            result.wave,
            result.role,
            result.role_b,
        )
        if not same or other.estimator == result.estimator:
            continue
        sign, significance = differs_from_plain(
            other.diff, other.significant, result.diff, result.significant
        )
        checks.append(CorrectedCheck(other.estimator, sign, significance))
    return tuple(checks)


def corrected_disagreement(
    result: ResearchResult, corrected: Sequence[ResearchResult] = ()
) -> bool | None:
    """Whether a corrected estimator disagrees with ``result`` (``corrected_checks``): None
    when no corrected result is stored for it."""
    checks = corrected_checks(result, corrected)
    if not checks:
        return None
    return any(check.disagrees for check in checks)


def research_questions_table(
    results: Sequence[ResearchResult],
    *,
    waves: Sequence[str],
    corrected: Sequence[ResearchResult] = (),
) -> pd.DataFrame:
    """The research questions' results as one table (``TABLE_COLUMNS``), for the release
    bundle: each ``ResearchResult`` with ``previous_wave`` (the latest earlier wave of
    ``waves`` in which the same comparison and role have a difference), ``change`` = diff −
    the previous wave's diff and its 95 % interval (``gap_change``), and
    ``corrected_estimator_disagrees`` (``corrected_disagreement``; empty while unknown) and
    ``corrected_checks``, each corrected estimator's ``CorrectedCheck.text()`` joined by "; ".
    Rows ordered by question, comparison, role and wave."""
    position = {wave: index for index, wave in enumerate(waves)}
    ordered = sorted(
        results,
        key=lambda r: (r.question, r.comparison, r.role, r.role_b, position.get(r.wave, -1)),
    )
    rows, previous = [], {}
    for result in ordered:
        key = (result.comparison, result.role, result.role_b)
        before = previous.get(key)
        row = {**asdict(result), "previous_wave": None, "change": None}
        row.update(change_ci_low=None, change_ci_high=None)
        if before is not None:
            change, low, high = gap_change(
                _number(result.diff),
                _number(result.se_diff),
                _number(result.df),
                _number(before.diff),
                _number(before.se_diff),
                _number(before.df),
            )
            row.update(previous_wave=before.wave, change=change)
            row.update(change_ci_low=low, change_ci_high=high)
        checks = corrected_checks(result, corrected)
        row["corrected_estimator_disagrees"] = (
            any(check.disagrees for check in checks) if checks else None
        )
        row["corrected_checks"] = "; ".join(check.text() for check in checks)
        rows.append(row)
        if result.diff is not None:
            previous[key] = result
    return pd.DataFrame(rows, columns=TABLE_COLUMNS)


def _number(value: float | None) -> float:
    return np.nan if value is None else float(value)


def research_questions_bundle_table() -> pd.DataFrame:
    """``research_questions_table`` of the stored results: what the release bundle writes."""
    versions = research_versions()
    return research_questions_table(
        research_results_load(versions=versions),
        waves=waves_in_order(),
        corrected=research_corrected_load(versions=versions),
    )
