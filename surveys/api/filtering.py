"""The kinds of filter every list of the API is built from, and the backend that runs them.

- ``ListFilter``: one or several values, as ``?panel=MOW&panel=YER`` or ``?panel=MOW,YER``
  (both may be mixed; empty items are skipped). Values are matched without regard to case
  and normalised to the stored spelling (``mow`` is ``MOW``); a value outside the filter's
  ``Vocabulary`` is a 400 that lists the allowed ones.
- ``BooleanValueFilter``: ``true``, ``false``, ``1`` or ``0``, in any case.
- ``IntegerFilter``: a whole number within the column's range.

An empty parameter (``?panel=``) filters nothing, as if it were absent. The backend
(``StrictFilterBackend``) answers a bad value with ``surveys.api.query.QueryParameterError``,
tells ``StrictQueryMixin`` which parameters a list takes, and writes their OpenAPI
description: allowed values, list syntax, case.
"""

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Q
from drf_spectacular.plumbing import build_array_type, build_basic_type, build_parameter_type
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter

from surveys.api.query import BOOLEAN_VALUES, QueryParameterError, form_errors, is_list_action

LIST_SYNTAX = "Several: `{name}=A&{name}=B` or `{name}=A,B`."


@dataclass(frozen=True)
class Vocabulary:
    """The values a list filter accepts: fixed (and then listed in the schema), read from the
    database when a request uses the filter (``stored``), or any value that matches
    ``pattern`` (``normalise`` then gives its stored spelling)."""

    fixed: tuple[str, ...] = ()
    stored: Callable[[], Iterable] | None = None
    pattern: str | None = None
    normalise: Callable[[str], str] = str
    pattern_code: str = "invalid"
    numeric: bool = False  # whole numbers (ids): integers in the schema

    def values(self) -> list[str]:
        stored = [str(value) for value in self.stored()] if self.stored is not None else []
        return [*self.fixed, *stored]

    def match(self, given: list[str]) -> list[str]:
        """The stored spelling of each given value, or a ValidationError listing the allowed."""
        if self.pattern is not None:
            if not all(re.match(self.pattern, value) for value in given):
                raise ValidationError("invalid", code=self.pattern_code)
            return list(dict.fromkeys(self.normalise(value) for value in given))
        allowed = self.values()
        exact = set(allowed)
        folded: dict[str, list[str]] = {}
        for value in allowed:
            folded.setdefault(value.casefold(), []).append(value)
        matched = []
        for value in given:
            candidates = [value] if value in exact else folded.get(value.casefold(), [])
            if len(candidates) != 1:
                raise ValidationError(
                    "invalid", code="invalid_choice", params={"allowed_values": allowed}
                )
            matched.append(candidates[0])
        return list(dict.fromkeys(matched))


class ListWidget(forms.Widget):
    """Every value of a repeated parameter, each split at commas; empty items dropped."""

    def value_from_datadict(self, data, files, name):
        values = data.getlist(name) if hasattr(data, "getlist") else [data.get(name) or ""]
        return [item.strip() for value in values for item in value.split(",") if item.strip()]


class ListField(forms.Field):
    widget = ListWidget

    def __init__(self, *, vocabulary: Vocabulary, **kwargs):
        self.vocabulary = vocabulary
        kwargs["required"] = False
        super().__init__(**kwargs)

    def clean(self, value):
        return self.vocabulary.match(value) if value else []


class ListFilter(django_filters.Filter):
    """Rows whose ``field_name`` is one of the given values."""

    field_class = ListField
    takes_list = True

    def __init__(self, field_name: str | None = None, *, vocabulary: Vocabulary, **kwargs):
        super().__init__(field_name=field_name, lookup_expr="in", vocabulary=vocabulary, **kwargs)

    def openapi_schema(self) -> dict:
        vocabulary = self.extra["vocabulary"]
        item = build_basic_type(OpenApiTypes.INT if vocabulary.numeric else OpenApiTypes.STR)
        if vocabulary.fixed and vocabulary.stored is None and vocabulary.pattern is None:
            item["enum"] = list(vocabulary.fixed)
        if vocabulary.pattern is not None:
            item["pattern"] = vocabulary.pattern
        return build_array_type(item)


class PooledListFilter(ListFilter):
    """A list filter where ``pooled`` (e.g. ``ALL``) stands for the rows whose ``field_name``
    is empty: the statistics pooled over all panels."""

    def __init__(self, field_name: str, *, pooled: str, null_field: str, **kwargs):
        self.pooled = pooled
        self.null_field = null_field
        super().__init__(field_name, **kwargs)

    def filter(self, qs, value):
        if not value:
            return qs
        condition = Q(**{f"{self.field_name}__in": [code for code in value if code != self.pooled]})
        if self.pooled in value:
            condition |= Q(**{f"{self.null_field}__isnull": True})
        return qs.filter(condition)


class BooleanValueField(forms.Field):
    widget = forms.TextInput

    def __init__(self, **kwargs):
        kwargs["required"] = False
        super().__init__(**kwargs)

    def clean(self, value):
        if value in (None, ""):
            return None
        boolean = BOOLEAN_VALUES.get(str(value).strip().lower())
        if boolean is None:
            raise ValidationError(
                "invalid", code="invalid_boolean", params={"allowed_values": list(BOOLEAN_VALUES)}
            )
        return boolean


class BooleanValueFilter(django_filters.Filter):
    """``true``, ``false``, ``1`` or ``0``, in any case."""

    field_class = BooleanValueField
    takes_list = False

    def openapi_schema(self) -> dict:
        return build_basic_type(OpenApiTypes.BOOL)


class QueryIntegerField(forms.IntegerField):
    default_error_messages = {"invalid": "invalid"}

    def to_python(self, value):
        try:
            return super().to_python(value)
        except ValidationError as error:
            raise ValidationError("invalid", code="invalid_integer") from error


class IntegerFilter(django_filters.NumberFilter):
    """A whole number within the database's range (a bigger one is a 400, not a 500)."""

    field_class = QueryIntegerField
    takes_list = False

    def __init__(self, *args, min_value: int = -(2**63), max_value: int = 2**63 - 1, **kwargs):
        super().__init__(*args, min_value=min_value, max_value=max_value, **kwargs)

    def openapi_schema(self) -> dict:
        return {
            **build_basic_type(OpenApiTypes.INT),
            "minimum": self.extra["min_value"],
            "maximum": self.extra["max_value"],
        }


def _description(name: str, filter_) -> str:
    text = filter_.extra.get("help_text") or ""
    if isinstance(filter_, ListFilter):
        vocabulary = filter_.extra["vocabulary"]
        text += " " + LIST_SYNTAX.format(name=name)
        if vocabulary.numeric:
            text += " Another value is a 400."
        elif vocabulary.pattern is None:
            text += " Any case (normalised to the stored one); another value is a 400."
            if vocabulary.fixed and vocabulary.stored is None:
                text += " Values: " + ", ".join(f"`{value}`" for value in vocabulary.fixed) + "."
    elif isinstance(filter_, BooleanValueFilter):
        text += " `true`, `false`, `1` or `0`, in any case."
    return text.strip()


class StrictFilterBackend:
    """Filters a list with its view's ``filterset_class`` (built from the filters above).

    Only the ``list`` action is filtered: a single object takes no filter parameters (and
    ``StrictQueryMixin`` refuses them).
    """

    def filter_queryset(self, request, queryset, view):
        filterset_class = getattr(view, "filterset_class", None)
        if filterset_class is None or not is_list_action(view):
            return queryset
        filterset = filterset_class(data=request.query_params, queryset=queryset, request=request)
        if not filterset.is_valid():
            raise QueryParameterError(form_errors(filterset.form), view.query_parameters())
        return filterset.qs

    def query_parameters(self, view) -> dict[str, bool]:
        filterset_class = getattr(view, "filterset_class", None)
        if filterset_class is None:
            return {}
        return {
            name: getattr(filter_, "takes_list", False)
            for name, filter_ in filterset_class.base_filters.items()
        }

    def get_schema_operation_parameters(self, view) -> list[dict]:
        filterset_class = getattr(view, "filterset_class", None)
        if filterset_class is None:
            return []
        parameters = []
        for name, filter_ in filterset_class.base_filters.items():
            takes_list = getattr(filter_, "takes_list", False)
            parameters.append(
                build_parameter_type(
                    name=name,
                    schema=filter_.openapi_schema(),
                    location=OpenApiParameter.QUERY,
                    description=_description(name, filter_),
                    explode=True if takes_list else None,
                    style="form" if takes_list else None,
                )
            )
        return parameters
