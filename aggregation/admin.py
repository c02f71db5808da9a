"""Admin for stored results: read-only lists (results are written by aggregation runs only)."""

from django.contrib import admin

from aggregation.models import (
    AggregationRun,
    CellResult,
    ComparisonResult,
    PendingAggregation,
    ReliabilityResult,
    WaveChangeResult,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(AggregationRun)
class AggregationRunAdmin(ReadOnlyAdmin):
    list_display = (
        "__str__",
        "wave",
        "status",
        "estimator_name",
        "estimator_version",
        "n_ratings",
        "started_at",
        "finished_at",
    )
    list_filter = ("wave", "status", "estimator_name")
    list_select_related = ("wave",)


@admin.register(CellResult)
class CellResultAdmin(ReadOnlyAdmin):
    list_display = (
        "__str__",
        "run",
        "n",
        "n_cannot_judge",
        "mean",
        "sd",
        "ci_low",
        "ci_high",
        "rwg",
    )
    list_filter = ("run__wave", "perspective", "panel", "subject", "role")
    list_select_related = ("run__wave", "panel", "holder", "subject", "role")


@admin.register(ComparisonResult)
class ComparisonResultAdmin(ReadOnlyAdmin):
    list_display = (
        "preset",
        "subject",
        "role",
        "mean_left",
        "mean_right",
        "diff",
        "hedges_g",
        "p_adjusted",
        "method",
    )
    list_filter = ("run__wave", "preset", "subject", "method")
    list_select_related = ("run__wave", "subject", "role")


@admin.register(ReliabilityResult)
class ReliabilityResultAdmin(ReadOnlyAdmin):
    list_display = (
        "__str__",
        "run",
        "n_raters",
        "n_units",
        "alpha_interval",
        "alpha_ordinal",
        "icc1",
    )
    list_filter = ("run__wave", "panel")
    list_select_related = ("run__wave", "panel", "block")


@admin.register(PendingAggregation)
class PendingAggregationAdmin(ReadOnlyAdmin):
    list_display = ("wave", "requested_at", "dispatched_at")
    list_select_related = ("wave",)


@admin.register(WaveChangeResult)
class WaveChangeResultAdmin(ReadOnlyAdmin):
    list_display = ("run", "previous_run", "perspective", "n_t", "mean_t", "mean_prev", "diff")
    list_filter = ("run__wave", "perspective", "panel", "subject", "role")
    list_select_related = ("run__wave", "previous_run__wave", "panel", "holder", "subject", "role")
