"""The API's error responses: DRF's, minus anything the client sent in.

A filter or form error message may quote the value it rejected ("Select a valid choice. X is
not one of the available choices."). Values typed by a client can be anything, a name or an
e-mail included, and error bodies end up in logs and proxies; so any message that contains a
submitted value is replaced by a generic message for its error code.

The errors of the strict query parameters (``surveys.api.query``) are built from the API's
own words, names and codes and say so (``echoes_no_input``): they are left whole, since their
allowed values would otherwise be blanked wherever one contains what the client typed.
"""

from collections.abc import Iterable
from typing import Any

from rest_framework.exceptions import ErrorDetail
from rest_framework.request import Empty
from rest_framework.views import exception_handler

MIN_ECHO_LENGTH = 3
"""Shorter values ("1", "ab") cannot carry personal data and would match too many messages."""

GENERIC_MESSAGES = {
    "invalid_choice": "Select a valid choice.",
    "invalid": "Enter a valid value.",
    "invalid_pk_value": "Select a valid choice.",
    "does_not_exist": "No such object.",
    "max_length": "The value is too long.",
    "min_value": "The value is too small.",
    "max_value": "The value is too large.",
    "required": "This field is required.",
    "not_found": "Not found.",
}
DEFAULT_MESSAGE = "Invalid value."


def _strings(value: Any) -> Iterable[str]:
    """The strings inside a submitted value (dict keys are field names, not input)."""
    if isinstance(value, str):
        yield value
        yield from value.split(",")
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item)


def submitted_values(request, view_kwargs: dict | None = None) -> set[str]:
    """Every value the client sent: query parameters, parsed body fields, URL parts.

    Parameter names are left out: the API chooses them, and an unknown one is shown only when
    it is a plain word (``surveys.api.query.shown_name``).
    """
    values: set[str] = set()
    if request is not None:
        for _name, items in request.query_params.lists():
            values.update(_strings(items))
        data = getattr(request, "_full_data", Empty)
        if data is not Empty and data is not None:
            if hasattr(data, "lists"):
                for _name, items in data.lists():
                    values.update(_strings([item for item in items if isinstance(item, str)]))
            else:
                values.update(_strings(data))
    values.update(_strings(list((view_kwargs or {}).values())))
    return {value.strip().casefold() for value in values if len(value.strip()) >= MIN_ECHO_LENGTH}


def _echoes(text: str, values: set[str]) -> bool:
    folded = text.casefold()
    return any(value in folded for value in values)


def scrub(data: Any, values: set[str]) -> Any:
    """A copy of an error body in which no message contains one of ``values``."""
    if isinstance(data, dict):
        return {
            ("field" if _echoes(str(key), values) else key): scrub(item, values)
            for key, item in data.items()
        }
    if isinstance(data, list):
        return [scrub(item, values) for item in data]
    if isinstance(data, str) and _echoes(data, values):
        code = getattr(data, "code", None) or "invalid"
        return ErrorDetail(GENERIC_MESSAGES.get(code, DEFAULT_MESSAGE), code=code)
    return data


def api_exception_handler(exc, context):
    """DRF's handler, then every message that quotes a submitted value made generic."""
    response = exception_handler(exc, context)
    if response is None or getattr(exc, "echoes_no_input", False):
        return response
    values = submitted_values(context.get("request"), context.get("kwargs"))
    if values:
        response.data = scrub(response.data, values)
    return response
