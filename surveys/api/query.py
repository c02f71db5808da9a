"""Strict query parameters: every API view answers 400 to a parameter it does not know.

Each view declares its query parameters (``StrictQueryMixin.query_parameters``): ``format``
everywhere, a list's filters and page parameters, an APIView's ``query_serializer_class``.
A request that carries another parameter, gives a one-value parameter twice or a value that
is not allowed gets one answer, a ``QueryParameterError``:

    {"detail": "Bad query parameters: subjekt.",
     "errors": {"subjekt": {"code": "unknown_parameter", "message": "…"}},
     "allowed_parameters": ["wave", "run", …]}

where an error about a value carries ``allowed_values`` when the values are a list. The body
is made of the API's own words only: the rejected value is never quoted, and a parameter's
name is shown only when it is a plain word (``SHOWN_NAME``), so an e-mail address or a
person's name typed as a parameter is not repeated either (``surveys.api.exceptions``).

Errors of these views are JSON whatever renderer the view has (the schema's is YAML), unless
the client asked for the browsable API.
"""

import re
from collections.abc import Iterable, Mapping

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers
from rest_framework.exceptions import APIException, NotFound
from rest_framework.renderers import JSONRenderer
from rest_framework.settings import api_settings

SHOWN_NAME = re.compile(r"[A-Za-z0-9_.\-\[\]]{1,40}")
HIDDEN_NAME = "(not shown)"
BOOLEAN_VALUES = {"true": True, "false": False, "1": True, "0": False}

MESSAGES = {
    "unknown_parameter": "Unknown query parameter; see allowed_parameters.",
    "repeated": "This parameter takes one value and was given more than once.",
    "invalid_choice": "Not an allowed value; see allowed_values (any case).",
    "invalid_boolean": "Not a boolean: give true, false, 1 or 0.",
    "invalid_integer": "Not a whole number.",
    "invalid_pseudonym": "Not a pseudonym (R- and 8 letters or digits).",
    "min_value": "Too small: the smallest allowed is {limit_value}.",
    "max_value": "Too large: the largest allowed is {limit_value}.",
    "invalid_format": "Not a format of this endpoint; see allowed_values.",
    "invalid_page_size": "Not a whole number from 1 (one above the maximum is the maximum).",
}
DEFAULT_MESSAGE = "Not an allowed value."


def parameter_error(code: str, *, allowed_values: Iterable | None = None, **limits) -> dict:
    """One parameter's entry under ``errors``: a code, a message, the allowed values."""
    message = MESSAGES.get(code, DEFAULT_MESSAGE)
    try:
        message = message.format(**limits)
    except (KeyError, IndexError):
        message = DEFAULT_MESSAGE
    error = {"code": code, "message": message}
    if allowed_values is not None:
        error["allowed_values"] = [str(value) for value in allowed_values]
    return error


def shown_name(name: str) -> str:
    return name if SHOWN_NAME.fullmatch(name) else HIDDEN_NAME


class QueryParameterError(APIException):
    """400: bad query parameters, each named with what is allowed instead."""

    status_code = 400
    default_code = "invalid_query"
    echoes_no_input = True  # surveys.api.exceptions leaves the body as it is

    def __init__(self, errors: Mapping[str, dict], allowed_parameters: Iterable[str]):
        names = ", ".join(errors)
        self.detail = {
            "detail": f"Bad query parameters: {names}.",
            "errors": dict(errors),
            "allowed_parameters": list(allowed_parameters),
        }


class UnknownPathValue(NotFound):
    """404 for a path segment that names nothing, with the values that name something."""

    echoes_no_input = True

    def __init__(self, what: str, allowed_values: Iterable[str]):
        super().__init__()
        self.detail = {"detail": f"No such {what}.", "allowed_values": list(allowed_values)}


def query_check(query: Mapping, parameters: Mapping[str, bool]) -> None:
    """A 400 unless every parameter of ``query`` (a QueryDict) is in ``parameters`` and a
    parameter that takes one value (``parameters[name]`` false) is given once."""
    errors = {}
    for name, values in query.lists():
        if name not in parameters:
            errors[shown_name(name)] = parameter_error("unknown_parameter")
        elif not parameters[name] and len(values) > 1:
            errors[name] = parameter_error("repeated")
    if errors:
        raise QueryParameterError(errors, parameters)


def form_errors(form) -> dict[str, dict]:
    """The errors of a Django form (a FilterSet's) as ``errors`` entries.

    The codes and params of the fields' ``ValidationError``s are used, never their messages,
    which may quote the value.
    """
    errors = {}
    for name, error_list in form.errors.as_data().items():
        error: DjangoValidationError = error_list[0]
        params = error.params or {}
        limits = {"limit_value": params["limit_value"]} if "limit_value" in params else {}
        errors[name] = parameter_error(
            error.code or "invalid", allowed_values=params.get("allowed_values"), **limits
        )
    return errors


class QueryBooleanField(serializers.BooleanField):
    """A query parameter's boolean: true, false, 1 or 0, in any case; nothing else."""

    def to_internal_value(self, data):
        value = BOOLEAN_VALUES.get(str(data).strip().lower())
        if value is None:
            self.fail("invalid", input=data)
        return value


class QueryChoiceField(serializers.ChoiceField):
    """A choice in any case, normalised to the choice's own spelling."""

    def to_internal_value(self, data):
        folded = {str(choice).casefold(): choice for choice in self.choices}
        return super().to_internal_value(folded.get(str(data).strip().casefold(), data))


def serializer_errors(form: serializers.Serializer) -> dict[str, dict]:
    """The errors of a query serializer as ``errors`` entries (codes, never messages)."""
    errors = {}
    for name, details in form.errors.items():
        field = form.fields.get(name)
        code = getattr(details[0], "code", "invalid")
        if isinstance(field, QueryBooleanField):
            errors[name] = parameter_error("invalid_boolean", allowed_values=BOOLEAN_VALUES)
        elif isinstance(field, serializers.ChoiceField):
            errors[name] = parameter_error("invalid_choice", allowed_values=field.choices)
        else:
            errors[name] = parameter_error(code)
    return errors


def is_list_action(view) -> bool:
    return getattr(view, "action", None) == "list"


class StrictQueryMixin:
    """For every view of the API: only declared query parameters; JSON errors.

    ``query_parameters()`` maps each parameter the request may carry to whether it takes a
    list. Lists get their filters from filter backends with a ``query_parameters(view)``
    method (``surveys.api.filtering.StrictFilterBackend``) and their page parameters from
    the paginator; an APIView names its own in ``query_serializer_class`` and reads them with
    ``query_validated()``.
    """

    query_serializer_class: type[serializers.Serializer] | None = None

    def query_parameters(self) -> dict[str, bool]:
        parameters = {api_settings.URL_FORMAT_OVERRIDE: False}
        if self.query_serializer_class is not None:
            parameters.update(dict.fromkeys(self.query_serializer_class().fields, False))
        if is_list_action(self):
            for backend in getattr(self, "filter_backends", []):
                declared = getattr(backend(), "query_parameters", None)
                if declared is not None:
                    parameters.update(declared(self))
            paginator = getattr(self, "paginator", None)
            if paginator is not None:
                for parameter in paginator.get_schema_operation_parameters(self):
                    parameters[parameter["name"]] = False
        return parameters

    def query_validated(self) -> dict:
        """The values of ``query_serializer_class``, or a 400 naming each bad one."""
        form = self.query_serializer_class(data=self.request.query_params)
        if not form.is_valid():
            raise QueryParameterError(serializer_errors(form), self.query_parameters())
        return form.validated_data

    def initial(self, request, *args, **kwargs):
        self.format_check(request)
        super().initial(request, *args, **kwargs)
        query_check(request.query_params, self.query_parameters())

    def format_check(self, request) -> None:
        """An unknown ``?format=`` is a 400 naming the formats (DRF answers 404, or ignores
        it where a view forces its renderer), before anything else."""
        name = api_settings.URL_FORMAT_OVERRIDE
        given = request.query_params.getlist(name)
        formats = list(dict.fromkeys(renderer.format for renderer in self.get_renderers()))
        if any(value not in formats for value in given):
            raise QueryParameterError(
                {name: parameter_error("invalid_format", allowed_values=formats)},
                self.query_parameters(),
            )

    def handle_exception(self, exc):
        response = super().handle_exception(exc)
        renderer = getattr(self.request, "accepted_renderer", None)
        if renderer is None or renderer.format not in ("json", "api"):
            self.request.accepted_renderer = JSONRenderer()
            self.request.accepted_media_type = JSONRenderer.media_type
        return response
