"""The aggregation engine: pure functions from a ratings DataFrame to result DataFrames.

No Django and no ORM here. The loader hands over one row per rating with the columns in
``RATINGS_COLUMNS``; the functions below return DataFrames or frozen dataclasses that the
Celery tasks store under an aggregation run, tagged with ``ESTIMATOR_NAME`` and
``ESTIMATOR_VERSION`` (the plain-means estimator; an IRT estimator can live beside it).

Conventions shared by every function:

* A rating with ``cannot_judge`` set is missing, whatever its ``value`` says. It is counted
  in ``n_cannot_judge`` and never in ``n`` or any statistic; cannot-judge is never 0.
* A row with a NaN ``value`` but no ``cannot_judge`` flag (a skipped item) is missing too and
  is counted nowhere.
* ``panel = "ALL"`` (``POOLED_PANEL``) marks statistics pooled over all panels; in a
  ``Selector`` the pooled panel is ``None``.

The modules, each importing only those above it:

* ``columns``: the frames' columns, shared codes and input checks;
* ``presets``: ``Selector`` and the named comparisons;
* ``cells``: value counts and cell statistics;
* ``sides``: from two sides to role columns (Welch, paired, partially overlapping), from
  ratings or from cell summaries;
* ``comparisons``: ``compare``, ``inter_role``, ``wave_change``;
* ``reliability``: alpha and ICC per panel and block;
* ``preset_runs``: every preset comparison of a run.

Everything public is re-exported here, so callers write ``from aggregation import engine``.
"""

from aggregation.engine.cells import (  # noqa: F401
    cell_statistics,
    cell_statistics_from_counts,
    value_counts,
)
from aggregation.engine.columns import (  # noqa: F401
    ANCHOR_ACTOR,
    CELL_COLUMNS,
    CELL_KEYS,
    CELL_STAT_COLUMNS,
    COMPARISON_ROLE_COLUMNS,
    COUNT_COLUMNS,
    COUNT_KEYS,
    ESTIMATOR_NAME,
    ESTIMATOR_VERSION,
    MISSING_CONFIDENCE_WEIGHT,
    PERSPECTIVES,
    POOLED_PANEL,
    PRESET_COMPARISON_COLUMNS,
    RATINGS_COLUMNS,
    RELIABILITY_COLUMNS,
    RELIABILITY_KEYS,
    SELECTOR_FIELDS,
    WAVE_CHANGE_COLUMNS,
    cannot_judge_mask,
    observed_values,
    validate_ratings,
)
from aggregation.engine.comparisons import (  # noqa: F401
    ComparisonResult,
    InterRoleResult,
    compare,
    inter_role,
    profile_summary,
    wave_change,
)
from aggregation.engine.preset_runs import (  # noqa: F401
    all_preset_comparisons,
    paired_presets,
    preset_comparisons,
)
from aggregation.engine.presets import (  # noqa: F401
    PRESET_LABELS,
    PRESETS,
    PresetBuilder,
    Selector,
    ascribed_vs_conceived,
    conception_vs_performance,
    ego_vs_perceived_alter,
    perceived_vs_actual_expectation,
)
from aggregation.engine.reliability import (  # noqa: F401
    UNIT_KEYS,
    reliability,
    reliability_from_counts,
)
from aggregation.engine.sides import (  # noqa: F401
    PAIRED_SUM_COLUMNS,
    SIDE_KEYS,
    CellSides,
    Side,
    by_role,
    comparison_method,
    dominant_role_of,
    family_size_of,
    is_paired,
    observed_slim,
    overlap_sides,
    overlapping_from_cells,
    paired_columns,
    paired_sums,
    paired_sums_of_sides,
    per_respondent,
    pick_side,
    role_columns,
    role_order,
    selector_columns,
    side_summary,
    welch_from_cells,
    welch_sides,
)
