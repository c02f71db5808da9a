"""Filters of the results, trends and raw ratings: every dimension of the cube, by code."""

import django_filters

from aggregation.models import CellResult, ComparisonResult, ReliabilityResult
from aggregation.selectors import runs_latest_complete_ids
from surveys.api.filters import (
    CodeInFilter,
    IntegerFilter,
    code_filter,
    panel_or_pooled_filter,
    perspective_filter,
)
from surveys.models import Rating

SMALLINT = {"min_value": -32768, "max_value": 32767}


class LatestRunFilterSet(django_filters.FilterSet):
    """Results of each wave's newest complete run, or of the complete run given as ``run``."""

    wave = code_filter("run__wave__slug", "Wave slug")
    run = IntegerFilter(
        field_name="run_id",
        min_value=1,
        help_text="A complete aggregation run's id; default: each wave's newest complete run.",
    )

    def filter_queryset(self, queryset):
        queryset = super().filter_queryset(queryset)
        if self.form.cleaned_data.get("run") is None:
            queryset = queryset.filter(run_id__in=runs_latest_complete_ids())
        return queryset


class CellFilter(LatestRunFilterSet):
    panel = panel_or_pooled_filter("panel__code")
    holder = code_filter("holder__code", "Holder actor code")
    subject = code_filter("subject__code", "Subject actor code")
    perspective = perspective_filter("perspective")
    role = code_filter("role__code", "Role code")

    class Meta:
        model = CellResult
        fields = []


class ComparisonFilter(LatestRunFilterSet):
    preset = CodeInFilter(
        field_name="preset",
        lookup_expr="in",
        help_text="ascribed_vs_conceived, conception_vs_performance, ego_vs_perceived_alter, "
        "perceived_vs_actual_expectation; several comma-separated.",
    )
    subject = code_filter("subject__code", "Subject actor code")
    role = code_filter("role__code", "Role code")
    method = CodeInFilter(field_name="method", lookup_expr="in", help_text="welch or paired.")

    class Meta:
        model = ComparisonResult
        fields = []


class ReliabilityFilter(LatestRunFilterSet):
    panel = code_filter("panel__code", "Panel code")
    holder = code_filter("block__holder__code", "Holder actor code")
    subject = code_filter("block__subject__code", "Subject actor code")
    perspective = perspective_filter("block__perspective")
    block = IntegerFilter(field_name="block__order", min_value=0, max_value=32767)

    class Meta:
        model = ReliabilityResult
        fields = []


class TrendFilter(django_filters.FilterSet):
    """Trends always read each wave's newest complete run."""

    wave = code_filter("run__wave__slug", "Wave slug")
    panel = panel_or_pooled_filter("panel__code")
    holder = code_filter("holder__code", "Holder actor code")
    subject = code_filter("subject__code", "Subject actor code")
    perspective = perspective_filter("perspective")
    role = code_filter("role__code", "Role code")

    class Meta:
        model = CellResult
        fields = []


class RatingFilter(django_filters.FilterSet):
    wave = code_filter("response__wave__slug", "Wave slug")
    panel = code_filter("response__panel__code", "Panel code")
    holder = code_filter("item__block__holder__code", "Holder actor code")
    subject = code_filter("item__block__subject__code", "Subject actor code")
    perspective = perspective_filter("item__block__perspective")
    role = code_filter("item__role__code", "Role code")
    pseudonym = code_filter("response__pseudonym", "Response pseudonym")
    cannot_judge = django_filters.BooleanFilter()
    value_min = IntegerFilter(field_name="value", lookup_expr="gte", **SMALLINT)
    value_max = IntegerFilter(field_name="value", lookup_expr="lte", **SMALLINT)
    confidence_min = IntegerFilter(field_name="confidence", lookup_expr="gte", **SMALLINT)
    confidence_max = IntegerFilter(field_name="confidence", lookup_expr="lte", **SMALLINT)

    class Meta:
        model = Rating
        fields = []
