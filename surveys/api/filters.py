"""Filters on the cube's dimensions, shared by every list of the API.

Each dimension is filtered by code, several codes comma-separated (``?subject=ARM,KAZ``).
An unknown code matches nothing rather than failing, so no error message ever repeats what
the client typed.
"""

import django_filters
from django import forms
from django.db.models import Q
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from surveys.models import Item, Perspective, Wave


@extend_schema_field(OpenApiTypes.INT)
class IntegerFilter(django_filters.NumberFilter):
    """A whole number within the database's range (a bigger one is a 400, not a 500)."""

    field_class = forms.IntegerField

    def __init__(self, *args, min_value: int = -(2**63), max_value: int = 2**63 - 1, **kwargs):
        super().__init__(*args, min_value=min_value, max_value=max_value, **kwargs)


class CodeInFilter(django_filters.BaseInFilter, django_filters.CharFilter):
    """``?field=A,B``: rows whose code is A or B."""


class ChoiceInFilter(django_filters.BaseInFilter, django_filters.ChoiceFilter):
    """``?perspective=conception,performance``."""


def perspective_filter(field_name: str) -> ChoiceInFilter:
    return ChoiceInFilter(
        field_name=field_name,
        choices=Perspective.choices,
        lookup_expr="in",
        help_text="conception, expectation or performance; several comma-separated.",
    )


def code_filter(field_name: str, what: str) -> CodeInFilter:
    return CodeInFilter(
        field_name=field_name,
        lookup_expr="in",
        help_text=f"{what}; several comma-separated.",
    )


def panel_or_pooled_filter(field_name: str = "panel__code") -> CodeInFilter:
    """Panel codes, with ``ALL`` for the statistics pooled over all panels."""

    def filter_panels(queryset, name, codes):
        codes = [code for code in codes if code]
        if not codes:
            return queryset
        condition = Q(**{f"{field_name}__in": [code for code in codes if code != "ALL"]})
        if "ALL" in codes:
            condition |= Q(**{f"{field_name.split('__')[0]}__isnull": True})
        return queryset.filter(condition)

    return CodeInFilter(
        method=filter_panels,
        help_text="Panel code, or ALL for all panels pooled; several comma-separated.",
    )


class WaveFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=Wave.Status.choices)
    is_synthetic = django_filters.BooleanFilter()

    class Meta:
        model = Wave
        fields = ["status", "is_synthetic"]


class ItemFilter(django_filters.FilterSet):
    wave = code_filter("block__wave__slug", "Wave slug")
    holder = code_filter("block__holder__code", "Holder actor code")
    subject = code_filter("block__subject__code", "Subject actor code")
    perspective = perspective_filter("block__perspective")
    role = code_filter("role__code", "Role code")
    panel = CodeInFilter(
        method="filter_panel", help_text="Items asked of this panel; several comma-separated."
    )
    code = code_filter("code", "Item code")

    class Meta:
        model = Item
        fields = []

    def filter_panel(self, queryset, name, codes):
        codes = [code for code in codes if code]
        if not codes:
            return queryset
        return queryset.filter(block__panels__code__in=codes).distinct()
