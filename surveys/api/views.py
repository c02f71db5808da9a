"""API views of the instrument (actors, roles, panels, waves, item codebook), the import of
ratings collected outside the web form, the API token, the schema and the API root.

Every view takes only the query parameters it declares (``surveys.api.query``); a code in a
path (``actors/rus/``) is matched in any case.
"""

from django.db.models import Prefetch
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.template import engines
from django.urls import reverse
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView
from knox.views import LoginView as KnoxLoginView
from knox.views import LogoutAllView, LogoutView
from rest_framework import mixins, status, viewsets
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.exceptions import NotFound
from rest_framework.fields import CharField
from rest_framework.generics import GenericAPIView
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from surveys.api import serializers
from surveys.api.filters import ActorFilter, ItemFilter, RoleFilter, WaveFilter
from surveys.api.permissions import HasRequiredPermissions
from surveys.api.query import StrictQueryMixin
from surveys.api.throttles import ClientAddressScopedRateThrottle
from surveys.imports import ratings_import
from surveys.models import Actor, Block, Item, Panel, Role, Wave


class CodeLookupMixin:
    """The object named in the path, its code in any case (``actors/rus/`` is ``RUS``)."""

    def get_object(self):
        value = self.kwargs[self.lookup_field]
        matches = list(
            self.filter_queryset(self.get_queryset()).filter(
                **{f"{self.lookup_field}__iexact": value}
            )[:2]
        )
        exact = [match for match in matches if getattr(match, self.lookup_field) == value]
        if exact or len(matches) == 1:
            found = (exact or matches)[0]
            self.check_object_permissions(self.request, found)
            return found
        raise NotFound()


class InstrumentViewSet(StrictQueryMixin, CodeLookupMixin, viewsets.ReadOnlyModelViewSet):
    permission_classes = [HasRequiredPermissions]
    lookup_field = "code"


class ActorViewSet(InstrumentViewSet):
    """States and organisations that hold and are ascribed roles."""

    queryset = Actor.objects.prefetch_related("texts")
    serializer_class = serializers.ActorSerializer
    required_permissions = ("surveys.view_actor",)
    filterset_class = ActorFilter


class RoleViewSet(InstrumentViewSet):
    """The role typology (Holsti 1970 and later additions) with its current texts."""

    queryset = Role.objects.prefetch_related("texts")
    serializer_class = serializers.RoleSerializer
    required_permissions = ("surveys.view_role",)
    filterset_class = RoleFilter


class PanelViewSet(InstrumentViewSet):
    """The panels: the experts of one capital, tied to a state actor. Never the experts."""

    queryset = Panel.objects.select_related("actor").prefetch_related("texts")
    serializer_class = serializers.PanelSerializer
    required_permissions = ("surveys.view_panel",)


class WaveViewSet(InstrumentViewSet):
    """Survey waves; a wave's detail carries its instrument (blocks and their items)."""

    required_permissions = ("surveys.view_wave", "surveys.view_block", "surveys.view_item")
    lookup_field = "slug"
    filterset_class = WaveFilter

    def get_queryset(self):
        waves = Wave.objects.select_related("delphi_round").order_by("-slug")
        if self.action == "retrieve":
            items = Item.objects.select_related("role").prefetch_related("role__texts")
            blocks = Block.objects.select_related("holder", "subject", "scale").prefetch_related(
                "texts", "scale__texts", "panels", Prefetch("items", queryset=items)
            )
            waves = waves.prefetch_related("texts", Prefetch("blocks", queryset=blocks))
        return waves

    def get_serializer_class(self):
        if self.action == "retrieve":
            return serializers.WaveInstrumentSerializer
        return serializers.WaveSerializer


class ItemViewSet(StrictQueryMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    """The item codebook: every item of every wave with its cube coordinates and scale."""

    queryset = (
        Item.objects.select_related(
            "block__wave", "block__holder", "block__subject", "block__scale", "role"
        )
        .prefetch_related("block__panels", "role__texts")
        .order_by("block__wave__slug", "block__order", "order", "id")
    )
    serializer_class = serializers.ItemCodebookSerializer
    permission_classes = [HasRequiredPermissions]
    required_permissions = ("surveys.view_item",)
    filterset_class = ItemFilter


class RatingsImportView(StrictQueryMixin, GenericAPIView):
    """Import ratings collected outside the web form into a wave (all or nothing)."""

    permission_classes = [HasRequiredPermissions]
    required_permissions = ("surveys.import_ratings",)
    parser_classes = [MultiPartParser, FormParser]
    serializer_class = serializers.RatingsImportSerializer
    pagination_class = None
    filter_backends = []

    @extend_schema(
        request=serializers.RatingsImportSerializer,
        responses={
            201: serializers.ImportReportSerializer,
            200: OpenApiResponse(
                serializers.ImportReportSerializer, description="Dry run: nothing stored."
            ),
            400: OpenApiResponse(
                serializers.ImportReportSerializer,
                description="Bad rows (each with its line and reason) or a bad request; "
                "nothing stored.",
            ),
            404: OpenApiResponse(description="No such wave."),
        },
    )
    def post(self, request, slug: str):
        wave = get_object_or_404(Wave, slug__iexact=slug)
        form = self.get_serializer(data=request.data)
        form.is_valid(raise_exception=True)
        report = ratings_import(
            wave=wave,
            csv_file=form.validated_data["file"],
            user=request.user,
            dry_run=form.validated_data["dry_run"],
        )
        if not report.ok:
            code = status.HTTP_400_BAD_REQUEST
        elif report.dry_run:
            code = status.HTTP_200_OK
        else:
            code = status.HTTP_201_CREATED
        return Response(serializers.ImportReportSerializer(report.as_dict()).data, status=code)


class TokenObtainView(StrictQueryMixin, KnoxLoginView):
    """Exchange a username and password for a new API token and its expiry (throttled).

    Each call issues a new token (django-rest-knox stores only its digest); it expires after
    ``REST_KNOX["TOKEN_TTL"]`` and is revoked by ``auth/token/logout/``.
    """

    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = [ClientAddressScopedRateThrottle]
    throttle_scope = "api_token"
    parser_classes = [FormParser, MultiPartParser, JSONParser]
    serializer_class = AuthTokenSerializer

    @extend_schema(
        request=AuthTokenSerializer,
        responses={200: serializers.IssuedTokenSerializer, 400: OpenApiResponse()},
    )
    def post(self, request, format=None):
        form = AuthTokenSerializer(data=request.data, context={"request": request})
        form.is_valid(raise_exception=True)
        request.user = form.validated_data["user"]
        return super().post(request, format=format)


class TokenRevokeView(StrictQueryMixin, LogoutView):
    """Revoke the token this request is sent with."""

    @extend_schema(request=None, responses={204: OpenApiResponse(description="Revoked.")})
    def post(self, request, format=None):
        return super().post(request, format=format)


class TokenRevokeAllView(StrictQueryMixin, LogoutAllView):
    """Revoke every token of the user this request's token belongs to."""

    @extend_schema(request=None, responses={204: OpenApiResponse(description="All revoked.")})
    def post(self, request, format=None):
        return super().post(request, format=format)


REDOC_WITHOUT_WEB_FONTS = """{% extends "drf_spectacular/redoc.html" %}
{% block head %}<title>{{ title }}</title><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body { margin: 0; padding: 0; }</style>{% endblock head %}"""


class RedocView(SpectacularRedocView):
    """Redoc from the shipped assets, without the web fonts its template loads from Google."""

    @extend_schema(exclude=True)
    def get(self, request, *args, **kwargs):
        response = super().get(request, *args, **kwargs)
        template = engines["django"].from_string(REDOC_WITHOUT_WEB_FONTS)
        return HttpResponse(template.render(response.data, request))


class SchemaView(StrictQueryMixin, SpectacularAPIView):
    """The OpenAPI schema, as YAML or (``?format=json``) JSON; errors are JSON."""

    def query_parameters(self) -> dict[str, bool]:
        return {**super().query_parameters(), "lang": False}


# The endpoints the root lists: name, route, and the placeholder of each path parameter with
# a value its route accepts (Django reverses only such values; the placeholder replaces it).
ROOT_ENDPOINTS = [
    ("actors", "api-actor-list", {}),
    ("actor", "api-actor-detail", {"code": "CODE"}),
    ("roles", "api-role-list", {}),
    ("role", "api-role-detail", {"code": "CODE"}),
    ("panels", "api-panel-list", {}),
    ("panel", "api-panel-detail", {"code": "CODE"}),
    ("waves", "api-wave-list", {}),
    ("wave", "api-wave-detail", {"slug": "SLUG"}),
    ("items", "api-item-list", {}),
    ("cells", "api-cell-list", {}),
    ("comparisons", "api-comparison-list", {}),
    ("comparison_adhoc", "api-comparison-adhoc", {}),
    ("research_questions", "api-research-questions", {}),
    ("reliability", "api-reliability-list", {}),
    ("trends", "api-trend-list", {}),
    ("ratings", "api-rating-list", {}),
    ("export_download", "api-export-download", {"wave": "WAVE", "table": "TABLE"}),
    ("export_codebook", "api-export-codebook", {"wave": "WAVE", "table": "TABLE"}),
    ("export_metadata", "api-export-metadata", {"wave": "WAVE", "table": "TABLE"}),
    ("export_jobs", "api-export-jobs", {}),
    ("export_job", "api-export-job", {"job_id": "0" * 32}),
    ("export_job_download", "api-export-job-download", {"job_id": "0" * 32}),
    ("ratings_import", "api-ratings-import", {"slug": "SLUG"}),
    ("token", "api-token", {}),
    ("token_logout", "api-token-revoke", {}),
    ("token_logout_all", "api-token-revoke-all", {}),
    ("schema", "api-schema", {}),
    ("docs", "api-docs", {}),
    ("redoc", "api-redoc", {}),
]


class ApiRootView(StrictQueryMixin, APIView):
    """The endpoints of API v1, each by name: its address, ``{name}`` for a path parameter."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        responses={
            200: inline_serializer(
                "ApiRoot", {name: CharField() for name, _route, _samples in ROOT_ENDPOINTS}
            )
        }
    )
    def get(self, request):
        endpoints = {}
        for name, route, samples in ROOT_ENDPOINTS:
            url = request.build_absolute_uri(reverse(route, kwargs=samples))
            for parameter, sample in samples.items():
                url = url.replace(f"/{sample}/", f"/{{{parameter}}}/")
            endpoints[name] = url
        return Response(endpoints)
