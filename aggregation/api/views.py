"""API views of stored results, trends, anonymised raw ratings and exports.

Results come from each wave's newest complete aggregation run (or a complete run asked for
by id); raw ratings only from submitted responses and under the response's pseudonym. The
views read and hand over; building export files is ``aggregation.exports``'s business.
"""

import tempfile
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlencode

from django.conf import settings
from django.db.models import F, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce
from django.http import FileResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from aggregation import exports
from aggregation.api import filters, serializers
from aggregation.api.filters import SnapshotConflict
from aggregation.exports.jobs import RELEASE_TABLE
from aggregation.models import (
    AggregationRun,
    CellResult,
    ComparisonResult,
    EstimatorResult,
    ReliabilityResult,
)
from aggregation.reliability_stats import RELIABILITY_COEFFICIENTS
from surveys.api.pagination import (
    IdCursorPagination,
    PseudonymCursorPagination,
    TrendPagination,
)
from surveys.api.permissions import HasRequiredPermissions
from surveys.api.query import StrictQueryMixin, UnknownPathValue
from surveys.api.schema import ErrorSerializer
from surveys.audit import audit_record
from surveys.delphi_selectors import wave_round, waves_primary
from surveys.models import Rating, Wave
from surveys.models import Response as SurveyResponse


def _estimator_result(field: str):
    """The row's estimator result set's ``field`` (its status or convergence)."""
    return Subquery(
        EstimatorResult.objects.filter(
            run_id=OuterRef("run_id"), estimator=OuterRef("estimator")
        ).values(field)[:1]
    )


RUN_FIELDS = {
    "wave_slug": F("run__wave__slug"),
    "round": wave_round("run__wave"),
    "estimator_name": F("estimator"),
    "estimator_converged": _estimator_result("converged"),
}
TABLE_PERMISSIONS = {
    "ratings": "surveys.view_anonymised_ratings",
    "cells": "aggregation.view_cellresult",
    "comparisons": "aggregation.view_comparisonresult",
}
EXPORT_PERMISSION = "aggregation.export_results"


class ResultViewSet(StrictQueryMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    permission_classes = [HasRequiredPermissions]
    pagination_class = IdCursorPagination


class CellViewSet(ResultViewSet):
    """Cell statistics (n, mean, SD, CI, r_wg, …) per panel or pooled, holder, subject,
    perspective and role."""

    serializer_class = serializers.CellSerializer
    filterset_class = filters.CellFilter
    required_permissions = ("aggregation.view_cellresult",)

    def get_queryset(self):
        return CellResult.objects.filter(run__status=AggregationRun.Status.COMPLETE).values(
            "id",
            "run_id",
            "estimator_version",
            "perspective",
            "n",
            "n_cannot_judge",
            "mean",
            "median",
            "sd",
            "se",
            "ci_low",
            "ci_high",
            "weighted_mean",
            "rwg",
            "rwg_raw",
            "rwg_truncated",
            panel_code=Coalesce(F("panel__code"), Value("ALL")),
            holder_code=F("holder__code"),
            subject_code=F("subject__code"),
            role_code=F("role__code"),
            **RUN_FIELDS,
        )


class ComparisonViewSet(ResultViewSet):
    """The named comparisons (presets), role by role: both sides, difference, CI, g, p."""

    serializer_class = serializers.ComparisonSerializer
    filterset_class = filters.ComparisonFilter
    required_permissions = ("aggregation.view_comparisonresult",)

    def get_queryset(self):
        return ComparisonResult.objects.filter(run__status=AggregationRun.Status.COMPLETE).values(
            "id",
            "run_id",
            "estimator_version",
            "preset",
            "left_label",
            "right_label",
            "left_panel",
            "left_holder",
            "left_subject",
            "left_perspective",
            "right_panel",
            "right_holder",
            "right_subject",
            "right_perspective",
            "method",
            "n_left",
            "mean_left",
            "sd_left",
            "ci_low_left",
            "ci_high_left",
            "n_right",
            "mean_right",
            "sd_right",
            "ci_low_right",
            "ci_high_right",
            "diff",
            "diff_ci_low",
            "diff_ci_high",
            "se_diff",
            "t",
            "df",
            "hedges_g",
            "p_value",
            "p_adjusted",
            "family_size",
            "family",
            "dominant_left",
            "dominant_right",
            "profile_distance",
            "prob_sign",
            subject_code=F("subject__code"),
            role_code=F("role__code"),
            **RUN_FIELDS,
        )


class ReliabilityViewSet(ResultViewSet):
    """Agreement per panel and block: Krippendorff's alpha (interval, ordinal) and ICC."""

    serializer_class = serializers.ReliabilitySerializer
    filterset_class = filters.ReliabilityFilter
    required_permissions = ("aggregation.view_reliabilityresult",)

    def get_queryset(self):
        return ReliabilityResult.objects.filter(run__status=AggregationRun.Status.COMPLETE).values(
            "id",
            "run_id",
            "estimator_version",
            "n_raters",
            "n_units",
            "alpha_interval",
            "alpha_ordinal",
            "icc1",
            "icc1k",
            *(
                f"{coefficient}_ci_{bound}"
                for coefficient in RELIABILITY_COEFFICIENTS
                for bound in ("low", "high")
            ),
            panel_code=F("panel__code"),
            block_order=F("block__order"),
            holder_code=F("block__holder__code"),
            subject_code=F("block__subject__code"),
            block_perspective=F("block__perspective"),
            **RUN_FIELDS,
        )


class TrendViewSet(ResultViewSet):
    """Per cell (panel or ALL, holder, subject, perspective, role), the stored results of each
    wave's newest complete run, ordered by cell and then by wave (opening date, slug). The
    waves are those of the primary data: later Delphi rounds are not a wave of the series."""

    serializer_class = serializers.TrendSerializer
    filterset_class = filters.TrendFilter
    pagination_class = TrendPagination
    required_permissions = ("aggregation.view_cellresult",)

    def get_queryset(self):
        return (
            CellResult.objects.filter(run__status=AggregationRun.Status.COMPLETE)
            .filter(waves_primary("run__wave"))
            .values(
                "id",
                "run_id",
                "estimator_version",
                "perspective",
                "n",
                "mean",
                "sd",
                "ci_low",
                "ci_high",
                panel_code=Coalesce(F("panel__code"), Value("ALL")),
                holder_code=F("holder__code"),
                subject_code=F("subject__code"),
                role_code=F("role__code"),
                wave_opens_at=F("run__wave__opens_at"),
                **RUN_FIELDS,
            )
            .order_by(
                "holder__order",
                "holder__code",
                "subject__order",
                "subject__code",
                "perspective",
                "role__order",
                "role__code",
                F("panel__code").asc(nulls_first=True),
                F("run__wave__opens_at").asc(nulls_last=True),
                "run__wave__slug",
                "id",
            )
        )


class RatingViewSet(ResultViewSet):
    """Anonymised raw ratings of submitted responses, ordered by pseudonym: the response's
    pseudonym, never the expert; the submission date coarsened and left empty in groups
    smaller than ``EXPORT_MIN_GROUP_SIZE`` (as in the exports)."""

    serializer_class = serializers.RatingSerializer
    filterset_class = filters.RatingFilter
    pagination_class = PseudonymCursorPagination
    required_permissions = ("surveys.view_anonymised_ratings",)

    def get_queryset(self):
        return Rating.objects.filter(response__status=SurveyResponse.Status.SUBMITTED).values(
            "response_id",
            "item_id",
            "value",
            "cannot_judge",
            "confidence",
            wave_id=F("response__wave_id"),
            wave_slug=F("response__wave__slug"),
            round=wave_round("response__wave"),
            pseudonym=F("response__pseudonym"),
            panel_code=F("response__panel__code"),
            holder_code=F("item__block__holder__code"),
            subject_code=F("item__block__subject__code"),
            perspective_name=F("item__block__perspective"),
            role_code=F("item__role__code"),
            source=F("response__source"),
        )

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        try:
            dates = exports.submission_dates_released(wave_ids={row["wave_id"] for row in page})
        except exports.ExportError as error:
            return Response({"detail": str(error)}, status=status.HTTP_409_CONFLICT)
        rows = [{**row, "submitted_on": dates.get(row["response_id"])} for row in page]
        return self.get_paginated_response(self.get_serializer(rows, many=True).data)


# Exports -------------------------------------------------------------------------------------

TABLE_PARAMETER = OpenApiParameter(
    "table",
    OpenApiTypes.STR,
    OpenApiParameter.PATH,
    enum=list(exports.TABLES),
    description="Any case; another name is a 404 that lists the tables.",
)
WAVE_PARAMETER = OpenApiParameter(
    "wave", OpenApiTypes.STR, OpenApiParameter.PATH, description="The wave's slug, any case."
)


class ExportTableMixin(StrictQueryMixin):
    """An export of one wave's table: needs the export permission and the table's own.

    The table's name and the wave's slug are read in any case; a table that does not exist
    is a JSON 404 naming the tables.
    """

    permission_classes = [HasRequiredPermissions]

    def table_name(self) -> str | None:
        given = self.kwargs.get("table", "").casefold()
        return next((table for table in exports.TABLES if table.casefold() == given), None)

    def get_required_permissions(self) -> tuple[str, ...]:
        table = self.table_name()
        return (EXPORT_PERMISSION, TABLE_PERMISSIONS.get(table, EXPORT_PERMISSION))

    def export_source(
        self, wave: str, table: str, run_id: int | None = None
    ) -> exports.ExportSource:
        table = self.table_name()
        if table is None:
            raise UnknownPathValue("table", exports.TABLES)
        wave_obj = get_object_or_404(Wave, slug__iexact=wave)
        estimator = self.query_validated()["estimator"]
        try:
            return exports.export_source(
                wave=wave_obj, table=table, run_id=run_id, estimator=estimator
            )
        except exports.NoCompleteRunError as error:
            raise NotFound(str(error)) from error
        except exports.SnapshotChangedError as error:
            raise SnapshotConflict(str(error)) from error
        except exports.ExportError as error:
            raise ValidationError({"detail": str(error)}) from error


@extend_schema(
    parameters=[WAVE_PARAMETER, TABLE_PARAMETER, serializers.EstimatorQuerySerializer],
    responses={200: OpenApiTypes.OBJECT},
)
class ExportCodebookView(ExportTableMixin, APIView):
    """The codebook of a table: each variable's name, label, type and value labels."""

    query_serializer_class = serializers.EstimatorQuerySerializer

    def get(self, request, wave: str, table: str):
        return Response(exports.codebook(self.export_source(wave, table)))


class ExportMetadataView(ExportTableMixin, APIView):
    """The metadata of a table now: wave, aggregation run, estimator and version, rows."""

    query_serializer_class = serializers.DownloadQuerySerializer

    @extend_schema(
        parameters=[WAVE_PARAMETER, TABLE_PARAMETER, serializers.DownloadQuerySerializer],
        responses={200: OpenApiTypes.OBJECT},
    )
    def get(self, request, wave: str, table: str):
        query = self.query_validated()
        source = self.export_source(wave, table, query.get("run"))
        return Response(exports.metadata(source, query["file_format"]))


class FileDownloadMixin:
    """Errors of a download are JSON whatever the client accepts; files bypass renderers."""

    def perform_content_negotiation(self, request, force=False):
        return super().perform_content_negotiation(request, force=True)


def _file_response(path: Path, filename: str, media_type: str) -> FileResponse:
    handle = open(path, "rb")  # noqa: SIM115 - FileResponse closes it
    return FileResponse(handle, as_attachment=True, filename=filename, content_type=media_type)


class ExportDownloadView(FileDownloadMixin, ExportTableMixin, APIView):
    """Download a wave's table now: CSV and JSON stream, the other formats follow once
    written. Tables above ``EXPORT_SYNC_MAX_ROWS`` rows need an export job (409)."""

    query_serializer_class = serializers.DownloadQuerySerializer

    @extend_schema(
        parameters=[WAVE_PARAMETER, TABLE_PARAMETER, serializers.DownloadQuerySerializer],
        responses={
            (200, media_type): OpenApiTypes.BINARY for media_type in exports.MEDIA_TYPES.values()
        }
        | {
            400: OpenApiResponse(
                ErrorSerializer, description="A bad parameter, or too many rows for XLSX."
            ),
            404: OpenApiResponse(
                ErrorSerializer, description="No such wave or table, or no complete run."
            ),
            409: OpenApiResponse(
                description="Too many rows for a direct download (use a job), or the ratings "
                "of the run asked for have changed since."
            ),
        },
    )
    def get(self, request, wave: str, table: str):
        query = self.query_validated()
        file_format = query["file_format"]
        bundle = query["bundle"]
        source = self.export_source(wave, table, query.get("run"))
        if source.rows > settings.EXPORT_SYNC_MAX_ROWS:
            return Response(
                {
                    "detail": f"{source.rows} rows are more than a direct download serves "
                    f"({settings.EXPORT_SYNC_MAX_ROWS}); create an export job.",
                    "export_jobs_url": request.build_absolute_uri(reverse("api-export-jobs")),
                },
                status=status.HTTP_409_CONFLICT,
            )
        if file_format == "xlsx":
            try:
                exports.xlsx_check(source)
            except exports.ExportError as error:
                raise ValidationError({"detail": str(error)}) from error
        exports.export_audit(
            user=request.user, source=source, file_format=file_format, action="export.download"
        )
        if bundle:
            name = f"{source.wave.slug}_{source.table}_{file_format}.zip"
        else:
            name = exports.data_file_name(source, file_format)
        if file_format in exports.STREAMING_FORMATS and not bundle:
            stream = exports.iter_csv if file_format == "csv" else exports.iter_json
            response = StreamingHttpResponse(
                stream(source), content_type=f"{exports.MEDIA_TYPES[file_format]}; charset=utf-8"
            )
            response["Content-Disposition"] = f'attachment; filename="{name}"'
            return response
        with tempfile.TemporaryDirectory(prefix="export-") as folder:
            path = Path(folder) / name
            if bundle:
                exports.write_bundle(source, file_format, path)
            else:
                exports.write_data(source, file_format, path)
            # Opened before the folder goes: the open file outlives its name (POSIX).
            return _file_response(path, name, exports.MEDIA_TYPES["zip" if bundle else file_format])


def _job_representation(request, job: dict) -> dict:
    job_id = job["id"]
    download_url = expires_at = None
    if job["status"] == "done":
        signature = exports.export_link_sign(job_id=job_id, user_id=job.get("user_id"))
        download_url = request.build_absolute_uri(
            reverse("api-export-job-download", args=[job_id])
            + "?"
            + urlencode({"signature": signature})
        )
        expires_at = timezone.now() + timedelta(seconds=settings.EXPORT_LINK_MAX_AGE_SECONDS)
    return {
        **{key: job.get(key) for key in serializers.ExportJobSerializer().fields},
        "status_url": request.build_absolute_uri(reverse("api-export-job", args=[job_id])),
        "download_url": download_url,
        "expires_at": expires_at,
    }


class ExportJobMixin(StrictQueryMixin):
    permission_classes = [HasRequiredPermissions]
    required_permissions = (EXPORT_PERMISSION,)

    def job_of_user(self, job_id: str) -> dict:
        """The job if this user created it (or is a superuser); else 404, never 403."""
        job = exports.export_job_status(job_id=job_id)
        user = self.request.user
        if job is None or not (user.is_superuser or job.get("user_id") == user.pk):
            raise NotFound("No such export job.")
        return job


class ExportJobCreateView(ExportJobMixin, APIView):
    """Start an export job: a worker writes the ZIP (data, codebook, metadata)."""

    @extend_schema(
        request=serializers.ExportJobRequestSerializer,
        responses={
            202: serializers.ExportJobSerializer,
            400: OpenApiResponse(
                ErrorSerializer, description="A bad request, or too many rows for XLSX."
            ),
            404: OpenApiResponse(description="No such wave, or no complete aggregation run."),
            409: OpenApiResponse(description="The ratings of the run asked for have changed."),
            503: serializers.ExportJobSerializer,
        },
    )
    def post(self, request):
        form = serializers.ExportJobRequestSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        table = form.validated_data["table"]
        needed = (
            TABLE_PERMISSIONS.values() if table == RELEASE_TABLE else [TABLE_PERMISSIONS[table]]
        )
        if not request.user.has_perms(needed):
            raise PermissionDenied("You do not have permission to export this table.")
        wave = get_object_or_404(Wave, slug__iexact=form.validated_data["wave"])
        try:
            job = exports.export_job_create(
                wave=wave,
                table=table,
                file_format=form.validated_data["file_format"],
                user=request.user,
                estimator=form.validated_data["estimator"],
                run_id=form.validated_data.get("run"),
            )
        except exports.NoCompleteRunError as error:
            raise NotFound(str(error)) from error
        except exports.SnapshotChangedError as error:
            raise SnapshotConflict(str(error)) from error
        except exports.ExportError as error:
            raise ValidationError({"detail": str(error)}) from error
        job = exports.export_job_status(job_id=job["id"]) or job  # dispatch may have failed it
        code = (
            status.HTTP_503_SERVICE_UNAVAILABLE
            if job["status"] == "failed"
            else status.HTTP_202_ACCEPTED
        )
        return Response(_job_representation(request, job), status=code)


class ExportJobView(ExportJobMixin, APIView):
    """An export job's status; when done, a signed download link that expires."""

    @extend_schema(responses={200: serializers.ExportJobSerializer})
    def get(self, request, job_id: str):
        return Response(_job_representation(request, self.job_of_user(job_id)))


class ExportJobDownloadView(FileDownloadMixin, ExportJobMixin, APIView):
    """The ZIP of a finished job, through the signed link of its status (it expires)."""

    query_serializer_class = serializers.ExportLinkQuerySerializer

    @extend_schema(
        parameters=[serializers.ExportLinkQuerySerializer],
        responses={
            (200, "application/zip"): OpenApiTypes.BINARY,
            403: OpenApiResponse(description="The link is invalid or has expired."),
            404: OpenApiResponse(description="No such job, or not finished."),
        },
    )
    def get(self, request, job_id: str):
        job = self.job_of_user(job_id)
        signature = self.query_validated()["signature"]
        if not exports.export_link_valid(
            job_id=job_id, user_id=job.get("user_id"), signature=signature
        ):
            raise PermissionDenied("The download link is invalid or has expired.")
        path = exports.export_job_file(job_id=job_id)
        if path is None:
            raise NotFound("The export is not ready.")
        wave = Wave.objects.filter(slug=job["wave"]).first()
        if wave is not None:
            audit_record(
                user=request.user,
                action="export.download",
                obj=wave,
                detail={
                    "table": job["table"],
                    "format": job["format"],
                    "wave": job["wave"],
                    "rows": job["rows"],
                    "job": job_id,
                },
            )
        return _file_response(path, path.name, exports.MEDIA_TYPES["zip"])
