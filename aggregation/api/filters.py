"""Filters of the results, trends and raw ratings: every dimension of the cube each table has.

Results (cells, comparisons, reliability, trends) read each wave's newest complete run, or
with ``run`` exactly the complete runs given; within a run, the rows of one estimator's result
set: ``plain_means`` unless ``estimator`` names others (an unknown one is a 400 that lists the
allowed). A filter a table has no column for is not offered: asking for it is a 400
(comparisons have no panel, holder or perspective column).
"""

import django_filters
from rest_framework.exceptions import APIException

from aggregation import engine, estimators
from aggregation.models import (
    AggregationRun,
    CellResult,
    ComparisonResult,
    ReliabilityResult,
    SavedComparison,
)
from aggregation.selectors import runs_latest_complete_ids
from aggregation.snapshots import SnapshotError, run_snapshot
from surveys.api.filtering import BooleanValueFilter, IntegerFilter, ListFilter, Vocabulary
from surveys.api.filters import (
    PSEUDONYMS,
    SOURCES,
    actor_filter,
    panel_filter,
    panel_or_pooled_filter,
    perspective_filter,
    role_filter,
    wave_filter,
)
from surveys.models import Rating

SMALLINT = {"min_value": -32768, "max_value": 32767}
COMPARISON_METHODS = ("welch", "paired", "overlapping", "laplace", "posterior")
"""welch, paired, overlapping: the t tests (aggregation.stats.Difference.method); laplace and
posterior: the ordinal IRT's differences (aggregation.estimator_comparisons)."""


def _complete_runs():
    return AggregationRun.objects.filter(status=AggregationRun.Status.COMPLETE)


RUNS = Vocabulary(
    stored=lambda: _complete_runs().order_by("pk").values_list("pk", flat=True), numeric=True
)
ESTIMATORS = Vocabulary(fixed=tuple(estimators.ESTIMATORS))
PRESETS = Vocabulary(
    fixed=tuple(engine.PRESETS),
    # saved comparisons are stored under their slug (aggregation.saved_comparisons)
    stored=lambda: SavedComparison.objects.order_by("slug").values_list("slug", flat=True),
)


class LatestRunFilterSet(django_filters.FilterSet):
    """Results of each wave's newest complete run, or of the complete runs given as ``run``,
    of the estimators asked for (default ``plain_means``)."""

    wave = wave_filter("run__wave__slug")
    run = ListFilter(
        "run_id",
        vocabulary=RUNS,
        help_text="A complete aggregation run's id; default: each wave's newest complete run.",
    )
    estimator = ListFilter(
        "estimator",
        vocabulary=ESTIMATORS,
        help_text="The estimator whose result set to read (default `plain_means`): "
        "`aldrich_mckelvey`, `ordinal_irt` and `vignette_cscores` are corrected for the "
        "panels' scale use with the vignettes.",
    )

    def filter_queryset(self, queryset):
        queryset = super().filter_queryset(queryset)
        if not self.form.cleaned_data.get("estimator"):
            queryset = queryset.filter(estimator=engine.ESTIMATOR_NAME)
        if not self.form.cleaned_data.get("run"):
            queryset = queryset.filter(run_id__in=runs_latest_complete_ids())
        return queryset


class CellFilter(LatestRunFilterSet):
    panel = panel_or_pooled_filter("panel__code")
    holder = actor_filter("holder__code", "Holder")
    subject = actor_filter("subject__code", "Subject")
    perspective = perspective_filter("perspective")
    role = role_filter("role__code")

    class Meta:
        model = CellResult
        fields = []


class TrendFilter(CellFilter):
    """The cells of each wave's newest complete run, in cell order, then by wave."""


class ComparisonFilter(LatestRunFilterSet):
    preset = ListFilter(
        "preset",
        vocabulary=PRESETS,
        help_text="The named comparison: a preset or a saved comparison's slug.",
    )
    subject = actor_filter("subject__code", "Subject")
    role = role_filter("role__code")
    method = ListFilter(
        "method",
        vocabulary=Vocabulary(fixed=COMPARISON_METHODS),
        help_text="welch: independent samples; paired: the same experts on both sides; "
        "overlapping: one side pools every panel, the other panel's experts are in both; "
        "laplace, posterior: the ordinal IRT's difference (fast mode, full posterior).",
    )

    class Meta:
        model = ComparisonResult
        fields = []


class ReliabilityFilter(LatestRunFilterSet):
    panel = panel_filter("panel__code")
    holder = actor_filter("block__holder__code", "Holder")
    subject = actor_filter("block__subject__code", "Subject")
    perspective = perspective_filter("block__perspective")
    block = IntegerFilter(
        field_name="block__order",
        min_value=0,
        max_value=32767,
        help_text="The block's number in its wave.",
    )

    class Meta:
        model = ReliabilityResult
        fields = []


class SnapshotConflict(APIException):
    """409: a read pinned to a run whose ratings have changed since."""

    status_code = 409
    default_code = "snapshot_changed"


class RatingFilter(django_filters.FilterSet):
    wave = wave_filter("response__wave__slug")
    run = ListFilter(
        vocabulary=RUNS,
        method="filter_run",
        help_text="Pinned to complete aggregation runs: exactly the ratings each run counted "
        "(409 if they have changed since, see `aggregation.snapshots`).",
    )
    panel = panel_filter("response__panel__code")
    holder = actor_filter("item__block__holder__code", "Holder")
    subject = actor_filter("item__block__subject__code", "Subject")
    perspective = perspective_filter("item__block__perspective")
    role = role_filter("item__role__code")
    pseudonym = ListFilter(
        "response__pseudonym",
        vocabulary=PSEUDONYMS,
        help_text="A response's pseudonym (`R-7KQ2M9XD`, any case); one that names no "
        "response matches nothing.",
    )
    source = ListFilter(
        "response__source",
        vocabulary=SOURCES,
        help_text="web: answered in the web form; import: imported from a file.",
    )
    round = IntegerFilter(
        field_name="round",
        min_value=1,
        max_value=10,
        help_text="Delphi round of the rating's wave: 1 for round 1 of a Delphi study (the "
        "primary data) and for every ordinary wave; 2 and later for the later rounds, "
        "answered after seeing the group's median and IQR.",
    )
    cannot_judge = BooleanValueFilter("cannot_judge", help_text="The expert could not judge.")
    value_min = IntegerFilter(
        field_name="value", lookup_expr="gte", help_text="Values from this on.", **SMALLINT
    )
    value_max = IntegerFilter(
        field_name="value", lookup_expr="lte", help_text="Values up to this.", **SMALLINT
    )
    confidence_min = IntegerFilter(
        field_name="confidence", lookup_expr="gte", help_text="Confidence from this on.", **SMALLINT
    )
    confidence_max = IntegerFilter(
        field_name="confidence", lookup_expr="lte", help_text="Confidence up to this.", **SMALLINT
    )

    class Meta:
        model = Rating
        fields = []

    def filter_run(self, queryset, name, value):
        if not value:
            return queryset
        response_ids: set[int] = set()
        for run in AggregationRun.objects.filter(pk__in=value).order_by("pk"):
            try:
                response_ids |= run_snapshot(run).response_ids
            except SnapshotError as error:
                raise SnapshotConflict(str(error)) from error
        return queryset.filter(response_id__in=response_ids)
