"""Admin for stored results: read-only lists (results are written by aggregation runs only)."""

from django.contrib import admin, messages

from aggregation.models import (
    AggregationRun,
    CellResult,
    ComparisonResult,
    EstimatorResult,
    PendingAggregation,
    PosteriorJob,
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
    actions = ["full_posterior_start"]

    @admin.action(
        description="Start the ordinal IRT's full posterior (NUTS)",
        permissions=["view"],
    )
    def full_posterior_start(self, request, queryset):
        from aggregation.posterior import PosteriorNotApplicable, posterior_request

        for run in queryset:
            try:
                job = posterior_request(run_id=run.pk)
            except PosteriorNotApplicable as error:
                self.message_user(request, f"Run #{run.pk}: {error}.", messages.WARNING)
            else:
                self.message_user(request, f"Run #{run.pk}: full posterior job #{job.pk} queued.")


@admin.register(EstimatorResult)
class EstimatorResultAdmin(ReadOnlyAdmin):
    list_display = (
        "run",
        "estimator",
        "estimator_version",
        "status",
        "mode",
        "convergence",
        "rhat_share_above",
        "ess_bulk_min",
        "seconds",
        "note",
    )
    list_filter = ("estimator", "status", "mode", "converged", "run__wave")
    list_select_related = ("run__wave",)

    @admin.display(description="convergence")
    def convergence(self, obj: EstimatorResult) -> str:
        return {True: "converged", False: "not converged"}.get(obj.converged, "–")


@admin.register(PosteriorJob)
class PosteriorJobAdmin(ReadOnlyAdmin):
    list_display = ("__str__", "status", "phase", "progress", "requested_at", "finished_at")
    list_filter = ("status",)
    list_select_related = ("run__wave",)
    readonly_fields = ("error",)

    @admin.display(description="progress")
    def progress(self, obj: PosteriorJob) -> str:
        return f"{obj.done} / {obj.total} ({obj.percent} %)" if obj.total else "–"


@admin.register(CellResult)
class CellResultAdmin(ReadOnlyAdmin):
    list_display = (
        "__str__",
        "run",
        "estimator",
        "n",
        "n_cannot_judge",
        "mean",
        "sd",
        "ci_low",
        "ci_high",
        "rwg",
    )
    list_filter = ("run__wave", "estimator", "perspective", "panel", "subject", "role")
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
        "prob_sign",
        "method",
        "estimator",
    )
    list_filter = ("run__wave", "estimator", "preset", "subject", "method")
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
