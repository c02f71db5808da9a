"""API views of the instrument (actors, roles, panels, waves, item codebook), the import of
ratings collected outside the web form, and the API token."""

from django.db.models import Prefetch
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.template import engines
from drf_spectacular.utils import OpenApiResponse, extend_schema
from drf_spectacular.views import SpectacularRedocView
from knox.views import LoginView as KnoxLoginView
from knox.views import LogoutAllView, LogoutView
from rest_framework import mixins, status, viewsets
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.generics import GenericAPIView
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

from surveys.api import serializers
from surveys.api.filters import ItemFilter, WaveFilter
from surveys.api.permissions import HasRequiredPermissions
from surveys.api.throttles import ClientAddressScopedRateThrottle
from surveys.imports import ratings_import
from surveys.models import Actor, Block, Item, Panel, Role, Wave


class ActorViewSet(viewsets.ReadOnlyModelViewSet):
    """States and organisations that hold and are ascribed roles."""

    queryset = Actor.objects.all()
    serializer_class = serializers.ActorSerializer
    permission_classes = [HasRequiredPermissions]
    required_permissions = ("surveys.view_actor",)
    lookup_field = "code"
    filterset_fields = ["kind"]


class RoleViewSet(viewsets.ReadOnlyModelViewSet):
    """The role typology (Holsti 1970 and later additions) with its current texts."""

    queryset = Role.objects.all()
    serializer_class = serializers.RoleSerializer
    permission_classes = [HasRequiredPermissions]
    required_permissions = ("surveys.view_role",)
    lookup_field = "code"
    filterset_fields = ["is_active"]


class PanelViewSet(viewsets.ReadOnlyModelViewSet):
    """The panels: the experts of one capital, tied to a state actor. Never the experts."""

    queryset = Panel.objects.select_related("actor")
    serializer_class = serializers.PanelSerializer
    permission_classes = [HasRequiredPermissions]
    required_permissions = ("surveys.view_panel",)
    lookup_field = "code"


class WaveViewSet(viewsets.ReadOnlyModelViewSet):
    """Survey waves; a wave's detail carries its instrument (blocks and their items)."""

    permission_classes = [HasRequiredPermissions]
    required_permissions = ("surveys.view_wave", "surveys.view_block", "surveys.view_item")
    lookup_field = "slug"
    filterset_class = WaveFilter

    def get_queryset(self):
        waves = Wave.objects.select_related("delphi_round").order_by("-slug")
        if self.action == "retrieve":
            blocks = Block.objects.select_related("holder", "subject", "scale").prefetch_related(
                "panels", Prefetch("items", queryset=Item.objects.select_related("role"))
            )
            waves = waves.prefetch_related(Prefetch("blocks", queryset=blocks))
        return waves

    def get_serializer_class(self):
        if self.action == "retrieve":
            return serializers.WaveInstrumentSerializer
        return serializers.WaveSerializer


class ItemViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """The item codebook: every item of every wave with its cube coordinates and scale."""

    queryset = (
        Item.objects.select_related(
            "block__wave", "block__holder", "block__subject", "block__scale", "role"
        )
        .prefetch_related("block__panels")
        .order_by("block__wave__slug", "block__order", "order", "id")
    )
    serializer_class = serializers.ItemCodebookSerializer
    permission_classes = [HasRequiredPermissions]
    required_permissions = ("surveys.view_item",)
    filterset_class = ItemFilter


class RatingsImportView(GenericAPIView):
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
        wave = get_object_or_404(Wave, slug=slug)
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


class TokenObtainView(KnoxLoginView):
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


class TokenRevokeView(LogoutView):
    """Revoke the token this request is sent with."""

    @extend_schema(request=None, responses={204: OpenApiResponse(description="Revoked.")})
    def post(self, request, format=None):
        return super().post(request, format=format)


class TokenRevokeAllView(LogoutAllView):
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
