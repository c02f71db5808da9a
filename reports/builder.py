"""The comparison builder page: any two selectors compared role by role, now.

A GET form of two sides (wave; panel or all panels; holder; subject; perspective;
estimator); a valid form is answered with the per-role statistics of
``aggregation.saved_comparisons.comparison_adhoc`` (stored cell statistics, and the
database's paired sums when the same responses rated both sides), formatted by
``reports.tables`` like the preset pages. Researchers and superusers compare any panel; a
panel admin only the panels they administer.
"""

from django import forms
from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from aggregation import saved_comparisons as builder
from aggregation.engine import POOLED_PANEL
from aggregation.selectors import actor_places
from reports import formats, tables

SIDES = ("left", "right")
DEFAULT_SIDES = {
    "left": {"panel": "MOW", "holder": "RUS", "subject": "ARM", "perspective": "expectation"},
    "right": {"panel": "MOW", "holder": "ARM", "subject": "ARM", "perspective": "performance"},
}


class BuilderForm(forms.Form):
    """Two sides, each with the six fields of a selector; choices from the database."""

    FIELD_LABELS = {
        "wave": gettext_lazy("Wave"),
        "panel": gettext_lazy("Panel"),
        "holder": gettext_lazy("Holder"),
        "subject": gettext_lazy("Subject"),
        "perspective": gettext_lazy("Perspective"),
        "estimator": gettext_lazy("Estimator"),
    }

    def __init__(self, *args, choices: builder.BuilderChoices, panels, **kwargs):
        super().__init__(*args, **kwargs)
        panel_codes = choices.panels if panels is None else tuple(sorted(panels))
        values = {
            "wave": choices.waves,
            "panel": panel_codes,
            "holder": choices.actors,
            "subject": choices.actors,
            "perspective": choices.perspectives,
            "estimator": choices.estimators,
        }
        for side in SIDES:
            for name, allowed in values.items():
                self.fields[f"{side}_{name}"] = forms.ChoiceField(
                    label=self.FIELD_LABELS[name],
                    choices=[
                        (value, _panel_label(value) if name == "panel" else value)
                        for value in allowed
                    ],
                )

    def side(self, side: str) -> dict[str, str]:
        return {
            name: self.cleaned_data[f"{side}_{name}"] for name in (*builder.SIDE_FIELDS, "wave")
        }

    def side_fields(self, side: str) -> list:
        return [field for field in self if field.name.startswith(f"{side}_")]


def _panel_label(code: str) -> str:
    return _("all panels") if code == POOLED_PANEL else code


def _initial(choices: builder.BuilderChoices) -> dict[str, str]:
    latest = choices.waves[-1] if choices.waves else ""
    return {
        f"{side}_{name}": value
        for side in SIDES
        for name, value in {
            **DEFAULT_SIDES[side],
            "wave": latest,
            "estimator": "plain_means",
        }.items()
    }


def builder_page(request: HttpRequest) -> HttpResponse:
    """The builder: the form, and below it the comparison it asks for."""
    panels = builder.builder_panels(request.user)
    choices = builder.builder_choices()
    asked = any(key.startswith(("left_", "right_")) for key in request.GET)
    form = BuilderForm(
        request.GET if asked else None, choices=choices, panels=panels, initial=_initial(choices)
    )
    comparison, message = None, ""
    if asked and form.is_valid():
        try:
            stored = builder.comparison_adhoc_stored(
                left=builder.side_from(form.side("left")),
                right=builder.side_from(form.side("right")),
            )
        except builder.ComparisonUnavailable as error:
            stored, message = None, str(error)
        if stored is not None:
            comparison = tables.comparison_view(stored, actor_places())
        elif not message:
            message = _("A side has no stored value in its wave: nothing to compare.")
    return render(
        request,
        "admin/reports/builder.html",
        {
            **admin.site.each_context(request),
            "title": _("Comparison builder"),
            "is_nav_sidebar_enabled": False,
            "heat_css": formats.heat_css(),
            "form": form,
            "sides": [
                (_("Left side"), form.side_fields("left")),
                (_("Right side"), form.side_fields("right")),
            ],
            "comparison": comparison,
            "message": message,
            "legend": formats.heat_legend(),
        },
    )


comparison_builder = admin.site.admin_view(builder_page)
