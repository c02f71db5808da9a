"""Admin for stored results: read-only lists (results are written by aggregation runs only);
and saved comparisons, whose definitions are versioned."""

from django import forms
from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from aggregation.comparison_builder import ESTIMATORS
from aggregation.engine import PRESETS
from aggregation.models import (
    AggregationRun,
    CellResult,
    ComparisonResult,
    EstimatorResult,
    PendingAggregation,
    PosteriorJob,
    ReliabilityResult,
    SavedComparison,
    SavedComparisonVersion,
    WaveChangeResult,
)
from aggregation.saved_comparisons import (
    DEFINITION_FIELDS,
    SIDE_FIELDS,
    builder_choices,
    saved_comparison_create,
    saved_comparison_revise,
    side_errors,
    version_definition,
)
from surveys.models import Perspective


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


class SavedComparisonForm(forms.ModelForm):
    """The saved comparison and its definition: the definition's fields are saved as a new
    version (``saved_comparison_revise``) when they change, never edited in place."""

    kind = forms.ChoiceField(choices=SavedComparisonVersion.Kind.choices)
    left_panel = forms.CharField(help_text='A panel code, or "ALL" for every panel pooled.')
    left_holder = forms.CharField()
    left_subject = forms.CharField()
    left_perspective = forms.ChoiceField(choices=Perspective.choices)
    left_estimator = forms.ChoiceField(choices=[(name, name) for name in ESTIMATORS])
    right_panel = forms.CharField(required=False)
    right_holder = forms.CharField(required=False)
    right_subject = forms.CharField(required=False)
    right_perspective = forms.ChoiceField(choices=[("", "—"), *Perspective.choices], required=False)
    right_estimator = forms.ChoiceField(
        choices=[(name, name) for name in ESTIMATORS], required=False
    )
    role_a = forms.CharField(required=False, help_text="Inter-role only: a role code.")
    role_b = forms.CharField(required=False, help_text="Inter-role only: a role code.")

    class Meta:
        model = SavedComparison
        fields = ["slug", "name", "question", "order"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        current = self.instance.pk and self.instance.versions.order_by("-number").first()
        if current:
            self.initial.update(version_definition(current))

    def clean(self):
        cleaned = super().clean()
        choices = builder_choices()
        sides = ["left"]
        if cleaned.get("kind") == SavedComparisonVersion.Kind.ROLES:
            sides.append("right")
        for side in sides:
            values = {name: cleaned.get(f"{side}_{name}") for name in SIDE_FIELDS}
            for name, allowed in side_errors(values, choices, wave=False).items():
                self.add_error(f"{side}_{name}", f"Allowed: {', '.join(allowed)}")
        if cleaned.get("kind") == SavedComparisonVersion.Kind.INTER_ROLE:
            for name in ("role_a", "role_b"):
                if cleaned.get(name) not in choices.roles:
                    self.add_error(name, f"Allowed: {', '.join(choices.roles)}")
        else:
            cleaned["role_a"] = cleaned["role_b"] = ""
        return cleaned

    def clean_slug(self):
        slug = self.cleaned_data["slug"]
        if slug in PRESETS:
            raise forms.ValidationError(_("This is the name of a preset."))
        return slug

    def definition(self) -> dict[str, str]:
        return {name: self.cleaned_data.get(name) or "" for name in DEFINITION_FIELDS}


class SavedComparisonVersionInline(admin.TabularInline):
    model = SavedComparisonVersion
    fields = (
        "number",
        "kind",
        "left_panel",
        "left_holder",
        "left_subject",
        "left_perspective",
        "right_panel",
        "right_holder",
        "right_subject",
        "right_perspective",
        "role_a",
        "role_b",
        "created_at",
    )
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(SavedComparison)
class SavedComparisonAdmin(admin.ModelAdmin):
    """Saved comparisons: editing the definition adds a version; results keep theirs."""

    form = SavedComparisonForm
    list_display = ("name", "slug", "question", "order")
    list_filter = ("question",)
    search_fields = ("slug", "name")
    inlines = [SavedComparisonVersionInline]
    fieldsets = [
        (None, {"fields": ["slug", "name", "question", "order", "kind"]}),
        (
            _("Left side"),
            {"fields": [f"left_{name}" for name in SIDE_FIELDS]},
        ),
        (
            _("Right side (two selectors)"),
            {"fields": [f"right_{name}" for name in SIDE_FIELDS]},
        ),
        (_("Roles (inter-role)"), {"fields": ["role_a", "role_b"]}),
    ]

    def get_readonly_fields(self, request, obj=None):
        return ("slug",) if obj else ()

    def save_model(self, request, obj, form, change):
        if change:
            obj.save(update_fields=["name", "question", "order"])
            saved_comparison_revise(saved=obj, definition=form.definition(), user=request.user)
        else:
            created = saved_comparison_create(
                slug=obj.slug,
                name=obj.name,
                question=obj.question,
                order=obj.order,
                definition=form.definition(),
                user=request.user,
            )
            obj.pk = created.pk
            obj._state.adding = False
