"""API of the comparison builder and the research questions.

``POST comparisons/adhoc/`` compares two selectors now, role by role, with the presets'
statistics and their choice of test (``aggregation.saved_comparisons.comparison_adhoc``);
``GET research-questions/`` returns the research questions' table
(``aggregation.research_questions``). Reads only.
"""

import math

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import APIException, NotFound, PermissionDenied
from rest_framework.response import Response
from rest_framework.views import APIView

from aggregation import engine
from aggregation import saved_comparisons as builder
from aggregation.research_questions import TABLE_COLUMNS, research_questions_bundle_table
from surveys.api.query import StrictQueryMixin
from surveys.api.schema import ErrorSerializer

SIDE_NAMES = ("left", "right")


class SelectorSerializer(serializers.Serializer):
    """One side of a comparison, as codes (``GET panels/``, ``actors/``, ``roles/``)."""

    wave = serializers.CharField(help_text="A wave's slug with a complete aggregation run.")
    panel = serializers.CharField(help_text='A panel code, or "ALL" for every panel pooled.')
    holder = serializers.CharField(help_text="Actor code: whose view.")
    subject = serializers.CharField(help_text="Actor code: whose role.")
    perspective = serializers.ChoiceField(choices=["conception", "expectation", "performance"])
    estimator = serializers.CharField(
        required=False, default=engine.ESTIMATOR_NAME, help_text='Only "plain_means" so far.'
    )


class AdhocRequestSerializer(serializers.Serializer):
    left = SelectorSerializer()
    right = SelectorSerializer()


class AdhocRoleSerializer(serializers.Serializer):
    role = serializers.CharField()
    role_name = serializers.CharField()
    n_left = serializers.IntegerField()
    mean_left = serializers.FloatField(allow_null=True)
    sd_left = serializers.FloatField(allow_null=True)
    ci_low_left = serializers.FloatField(allow_null=True)
    ci_high_left = serializers.FloatField(allow_null=True)
    n_right = serializers.IntegerField()
    mean_right = serializers.FloatField(allow_null=True)
    sd_right = serializers.FloatField(allow_null=True)
    ci_low_right = serializers.FloatField(allow_null=True)
    ci_high_right = serializers.FloatField(allow_null=True)
    diff = serializers.FloatField(allow_null=True)
    diff_ci_low = serializers.FloatField(allow_null=True)
    diff_ci_high = serializers.FloatField(allow_null=True)
    se_diff = serializers.FloatField(allow_null=True)
    t = serializers.FloatField(allow_null=True)
    df = serializers.FloatField(allow_null=True)
    hedges_g = serializers.FloatField(allow_null=True)
    p_value = serializers.FloatField(allow_null=True)
    p_adjusted = serializers.FloatField(
        allow_null=True, help_text="Benjamini–Hochberg within the family named by family."
    )
    family_size = serializers.IntegerField(
        help_text="Number of p-values in the Benjamini–Hochberg family."
    )
    family = serializers.CharField(
        help_text="The Benjamini–Hochberg family: comparison (the roles of this comparison)."
    )


class AdhocResponseSerializer(serializers.Serializer):
    left = SelectorSerializer()
    right = SelectorSerializer()
    method = serializers.ChoiceField(
        choices=["paired", "overlapping", "welch"],
        help_text="As for the presets. paired: both sides on one panel in one wave (the same "
        "experts); overlapping: partially overlapping samples (one side pools every panel, the "
        "other is one panel in the same wave); welch: independent sides.",
    )
    dominant_left = serializers.CharField()
    dominant_right = serializers.CharField()
    profile_distance = serializers.FloatField(allow_null=True)
    roles = AdhocRoleSerializer(many=True)


class BadSelectors(APIException):
    """400 naming each field of a side that is missing or not allowed, with the allowed
    values; built from the API's own codes, never from what was sent."""

    status_code = 400
    default_code = "invalid_selectors"
    echoes_no_input = True  # surveys.api.exceptions leaves the body as it is

    def __init__(self, errors: dict[str, tuple[str, ...]], message: str):
        self.detail = {
            "detail": f"Bad selectors: {', '.join(errors)}.",
            "errors": {
                name: {"code": "invalid_choice", "message": message, "allowed_values": list(v)}
                for name, v in errors.items()
            },
        }


def _sides(data) -> dict[str, dict[str, str]]:
    """The two sides of the body as dicts of strings; a missing or malformed side is empty."""
    sides = {}
    for name in SIDE_NAMES:
        side = data.get(name) if hasattr(data, "get") else None
        sides[name] = (
            {key: value for key, value in side.items() if isinstance(value, str)}
            if isinstance(side, dict)
            else {}
        )
    return sides


class AdhocComparisonView(StrictQueryMixin, APIView):
    """Compare any two selectors now, role by role (researchers; panel admins on their
    panels)."""

    @extend_schema(
        request=AdhocRequestSerializer,
        responses={
            200: AdhocResponseSerializer,
            400: OpenApiResponse(
                ErrorSerializer,
                description="A side names a value that is not allowed: `errors` names each "
                "field (`left.panel`, …) with `allowed_values`.",
            ),
            403: OpenApiResponse(description="Not allowed to compare, or not these panels."),
            404: OpenApiResponse(description="A side has no stored value in its wave."),
        },
    )
    def post(self, request):
        try:
            panels = builder.builder_panels(request.user)
        except Exception as error:  # django's PermissionDenied
            raise PermissionDenied("You may not compare stored results.") from error
        sides = _sides(request.data)
        choices = builder.builder_choices()
        errors = {
            f"{name}.{field}": allowed
            for name, side in sides.items()
            for field, allowed in builder.side_errors(side, choices, wave=True).items()
        }
        if errors:
            raise BadSelectors(errors, "Missing, or not one of the allowed values.")
        forbidden = builder.builder_panel_errors(sides, panels)
        if forbidden:
            raise BadSelectors(
                {f"{name}.panel": allowed for name, allowed in forbidden.items()},
                "Not one of the panels you administer.",
            )
        left, right = (builder.side_from(sides[name]) for name in SIDE_NAMES)
        try:
            stored = builder.comparison_adhoc_stored(left=left, right=right)
        except builder.ComparisonUnavailable as error:
            raise NotFound(str(error)) from error
        if stored is None:
            raise NotFound("A side has no stored value in its wave: nothing to compare.")
        roles = [
            {name: getattr(row, name) for name in AdhocRoleSerializer().fields}
            for row in stored.rows
        ]
        body = {
            "left": {**sides["left"], "estimator": left.estimator},
            "right": {**sides["right"], "estimator": right.estimator},
            "method": stored.method,
            "dominant_left": stored.dominant_left,
            "dominant_right": stored.dominant_right,
            "profile_distance": stored.profile_distance,
            "roles": roles,
        }
        return Response(AdhocResponseSerializer(body).data)


TEXT_COLUMNS = {
    "question",
    "comparison",
    "name",
    "kind",
    "wave",
    "estimator",
    "method",
    "family",
    "corrected_checks",
}
HELP = {
    "comparison": "The saved comparison's slug.",
    "version": "The saved comparison's version.",
    "role_b": "Inter-role: the second role (role against role_b); else empty.",
    "change": "diff minus the previous wave's diff; change_ci_low/high: its 95 % interval.",
    "corrected_estimator_disagrees": "Whether a corrected estimator's difference has the "
    "other sign or the other significance; null when none is stored for this row.",
    "corrected_checks": "Per corrected estimator, e.g. 'vignette_cscores: significance "
    "differs; aldrich_mckelvey: agrees'; empty when none is stored.",
    "family": "The Benjamini–Hochberg family of p_adjusted.",
    "family_size": "Tests in that family.",
    "prob_sign": "Ordinal IRT only: the probability of the difference's sign.",
}


def _row_field(column: str) -> serializers.Field:
    help_text = HELP.get(column, "")
    if column in TEXT_COLUMNS or column.endswith(("_panel", "_holder", "_subject", "_perspective")):
        return serializers.CharField(help_text=help_text)
    if column in {"role", "role_b", "previous_wave"}:
        return serializers.CharField(allow_null=True, help_text=help_text)
    if column in {"version", "n_left", "n_right", "family_size"}:
        return serializers.IntegerField(help_text=help_text)
    if column == "corrected_estimator_disagrees":
        return serializers.BooleanField(allow_null=True, help_text=help_text)
    return serializers.FloatField(allow_null=True, help_text=help_text)


ResearchQuestionRowSerializer = type(
    "ResearchQuestionRowSerializer",
    (serializers.Serializer,),
    {
        "__doc__": "One row of the research questions' table: a role (or two, inter-role) "
        "of a saved comparison in one wave.",
        **{column: _row_field(column) for column in TABLE_COLUMNS},
    },
)


class ResearchQuestionsResponseSerializer(serializers.Serializer):
    results = ResearchQuestionRowSerializer(many=True)


class ResearchQuestionsView(StrictQueryMixin, APIView):
    """The research questions: each shipped saved comparison's roles per wave, with the
    change since the previous wave and its 95 % interval."""

    @extend_schema(responses={200: ResearchQuestionsResponseSerializer})
    def get(self, request):
        if not request.user.has_perm(builder.COMPARISON_PERMISSION):
            raise PermissionDenied("You may not read stored comparisons.")
        table = research_questions_bundle_table()
        rows = [
            {key: _json_value(value) for key, value in row.items()}
            for row in table.to_dict("records")
        ]
        return Response({"results": rows})


def _json_value(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if hasattr(value, "item"):  # numpy scalars
        return _json_value(value.item())
    return value
