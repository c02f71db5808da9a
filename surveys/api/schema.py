"""The OpenAPI schema's additions for the strict query parameters (``surveys.api.query``).

``StrictAutoSchema`` (``DEFAULT_SCHEMA_CLASS``) documents, on every operation of a view that
checks its query parameters, the ``format`` parameter and the 400 answer with its body
(``ErrorSerializer``). The filters' own parameters, with their allowed values and list
syntax, come from ``surveys.api.filtering.StrictFilterBackend``.
"""

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import serializers
from rest_framework.settings import api_settings

from surveys.api.query import MESSAGES, StrictQueryMixin

BAD_QUERY = (
    "An unknown query parameter, a parameter that takes one value given twice, or a value "
    "that is not allowed. `errors` names each such parameter with a code, a message and, "
    "where the values are a list, `allowed_values`; `allowed_parameters` lists the parameters "
    "of this endpoint."
)


class ParameterErrorSerializer(serializers.Serializer):
    code = serializers.ChoiceField(choices=sorted(MESSAGES))
    message = serializers.CharField()
    allowed_values = serializers.ListField(child=serializers.CharField(), required=False)


class ErrorSerializer(serializers.Serializer):
    """Every error of the API: `detail`, and for a bad query the parameters at fault."""

    detail = serializers.CharField()
    errors = serializers.DictField(child=ParameterErrorSerializer(), required=False)
    allowed_parameters = serializers.ListField(child=serializers.CharField(), required=False)
    allowed_values = serializers.ListField(
        child=serializers.CharField(),
        required=False,
        help_text="A 404 for a path segment that names nothing: the values that do.",
    )


class StrictAutoSchema(AutoSchema):
    def _strict(self) -> bool:
        return isinstance(self.view, StrictQueryMixin)

    def get_override_parameters(self):
        parameters = list(super().get_override_parameters())
        if self._strict():
            formats = list(dict.fromkeys(r.format for r in self.view.get_renderers()))
            parameters.append(
                OpenApiParameter(
                    api_settings.URL_FORMAT_OVERRIDE,
                    OpenApiTypes.STR,
                    OpenApiParameter.QUERY,
                    enum=formats,
                    description="The response's format instead of the Accept header "
                    "(`api`: the browsable API).",
                )
            )
        return parameters

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        if self._strict() and "400" not in responses:
            responses["400"] = self._get_response_for_code(
                OpenApiResponse(ErrorSerializer, description=BAD_QUERY), "400", direction=direction
            )
        return responses
