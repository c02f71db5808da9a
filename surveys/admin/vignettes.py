"""The order the researcher assumes for a wave's vignettes on each role, in the admin.

A vignette itself is an actor of kind "vignette" (``ActorAdmin``: its name and description
are texts) and is asked about in blocks like any actor (``BlockAdmin``). Here an admin ranks
the vignettes a draft wave asks about one role, 1 for the one that holds the role least. The
whole ranking is checked before anything is stored (``surveys.vignettes``), and like the rest
of the instrument it is frozen when the wave opens.
"""

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError

from surveys.admin.instrument import FrozenInstrumentMixin
from surveys.models import Actor, VignetteOrder, VignetteRank, Wave
from surveys.vignettes import vignette_order_problems, vignette_order_set


class VignetteRankFormSet(forms.BaseInlineFormSet):
    """The ranks of one order, checked together: every vignette of the role once, distinct
    ranks."""

    def ranking(self) -> list[Actor]:
        """The vignettes of the filled-in rows, lowest rank first."""
        rows = [
            (form.cleaned_data["rank"], form.cleaned_data["vignette"])
            for form in self.forms
            if form.cleaned_data
            and not form.cleaned_data.get("DELETE")
            and form.cleaned_data.get("vignette")
            and form.cleaned_data.get("rank")
        ]
        return [vignette for _rank, vignette in sorted(rows, key=lambda row: row[0])]

    def clean(self):
        # Before the formset's own checks, which would name a shared rank less plainly.
        if any(self.errors):
            return
        order = self.instance
        if order.wave_id is None or order.role_id is None:
            return  # the order's own form says what is missing
        ranks = [
            form.cleaned_data["rank"]
            for form in self.forms
            if form.cleaned_data
            and not form.cleaned_data.get("DELETE")
            and form.cleaned_data.get("rank")
        ]
        problems = []
        if len(ranks) != len(set(ranks)):
            problems.append("Two vignettes share a rank; give each its own (1 = lowest).")
        problems += vignette_order_problems(
            wave=order.wave, role=order.role, vignettes=self.ranking()
        )
        if problems:
            raise ValidationError(problems)
        super().clean()


class VignetteRankInline(admin.TabularInline):
    model = VignetteRank
    formset = VignetteRankFormSet
    fields = ("rank", "vignette")
    extra = 3
    verbose_name = "vignette"
    verbose_name_plural = "vignettes, ranked: 1 = holds the role least"

    def _frozen(self, obj) -> bool:
        return obj is not None and obj.wave.status != Wave.Status.DRAFT

    def get_extra(self, request, obj=None, **kwargs):
        return 0 if obj is not None else self.extra

    def has_add_permission(self, request, obj=None):
        return not self._frozen(obj) and super().has_add_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        return not self._frozen(obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return self.has_change_permission(request, obj)


@admin.register(VignetteOrder)
class VignetteOrderAdmin(FrozenInstrumentMixin, admin.ModelAdmin):
    """One page per (wave, role); saved through ``vignette_order_set`` (checked, audited)."""

    list_display = ("__str__", "wave", "role", "ranking")
    list_filter = ("wave", "role")
    list_select_related = ("wave", "role")
    search_fields = ("wave__slug", "role__code")
    inlines = [VignetteRankInline]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("ranks__vignette")

    def get_readonly_fields(self, request, obj=None):
        # Another wave or role is another order: add it rather than move this one.
        return ("wave", "role") if obj is not None else ()

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "wave":
            kwargs["queryset"] = Wave.objects.filter(status=Wave.Status.DRAFT)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    @admin.display(description="assumed order (lowest first)")
    def ranking(self, obj):
        return " < ".join(rank.vignette.code for rank in obj.ranks.all()) or "–"

    def save_model(self, request, obj, form, change):
        pass  # written with its ranks in save_related, through the service

    def save_related(self, request, form, formsets, change):
        (ranks,) = (formset for formset in formsets if formset.model is VignetteRank)
        order = vignette_order_set(
            wave=form.instance.wave,
            role=form.instance.role,
            vignettes=ranks.ranking(),
            user=request.user,
        )
        form.instance.pk = order.pk
        ranks.new_objects, ranks.changed_objects, ranks.deleted_objects = [], [], []
