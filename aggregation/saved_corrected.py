"""The saved comparisons under each corrected estimator of a run.

When a run stores a corrected estimator's complete result set, every saved comparison whose
current version reads the plain means (``kind`` roles, both sides ``plain_means``) is also
computed on that estimator's values, as its preset comparisons are
(``estimator_comparisons``): for Aldrich–McKelvey and C-scores the builder's t test on the
transformed ratings, for the ordinal IRT the difference from the fit with its interval and
``prob_sign``. The rows are ``ComparisonResult`` rows tagged with the saved version and the
estimator, so that the research questions can say whether a corrected estimator disagrees
with the plain numbers. Inter-role comparisons (two roles of the same experts) are left to
the plain means.
"""

from __future__ import annotations

from aggregation.engine import ESTIMATOR_NAME
from aggregation.estimator_runs import EstimatorOutcome
from aggregation.models import AggregationRun, ComparisonResult, SavedComparisonVersion
from aggregation.result_rows import COMPARISON_FIELDS, CodeMaps, comparison_rows, rows_insert
from aggregation.saved_comparisons import comparison_subject, saved_versions_current, version_side


def plain_role_versions() -> list[SavedComparisonVersion]:
    """The current versions a corrected estimator recomputes: role by role, on plain means."""
    return [
        version
        for version in saved_versions_current()
        if version.kind == SavedComparisonVersion.Kind.ROLES
        and version.left_estimator == ESTIMATOR_NAME
        and version.right_estimator == ESTIMATOR_NAME
    ]


def saved_corrected_store(
    run: AggregationRun,
    outcome: EstimatorOutcome,
    codes: CodeMaps,
    *,
    versions: list[SavedComparisonVersion] | None = None,
) -> None:
    """Compute and insert the saved comparisons of ``run``'s wave under a complete corrected
    outcome (one that kept its ``basis``). Call inside the run's transaction."""
    if outcome.basis is None:
        return
    versions = plain_role_versions() if versions is None else versions
    if not versions:
        return
    wave = run.wave.slug
    pairs = []
    for version in versions:
        left = version_side(version, "left", wave=wave).cube()
        right = version_side(version, "right", wave=wave).cube()
        header = {
            "wave": wave,
            "preset": version.saved_comparison.slug,
            "subject": comparison_subject(left, right),
            "saved_version_id": version.pk,
        }
        pairs.append((header, left, right))
    table = outcome.basis.compare(pairs)
    if table.empty:
        return
    table["saved_version_id"] = table["saved_version_id"].astype(object).map(int)
    rows = comparison_rows(run, table, codes, estimator=outcome.estimator, version=outcome.version)
    rows_insert(ComparisonResult, COMPARISON_FIELDS, rows)
