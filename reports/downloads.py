"""Downloads of the report pages and the wave dashboard (CSV tables, SVG and PNG charts): the
permission, the file, the audit row."""

from collections.abc import Sequence

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.utils.text import slugify

from reports import formats
from surveys.audit import audit_record

EXPORT_PERMISSION = "aggregation.export_results"


def csv_download(
    request: HttpRequest,
    *,
    name: Sequence[str],
    header: Sequence[str],
    rows: Sequence[Sequence[str]],
    detail: dict,
) -> HttpResponse:
    """A CSV attachment of a page's table; audited as ``export.download`` (codes only)."""
    return file_download(
        request,
        name=name,
        extension="csv",
        content="\ufeff" + formats.csv_text(header, rows),
        content_type="text/csv; charset=utf-8",
        detail={**detail, "rows": len(rows)},
    )


def file_download(
    request: HttpRequest,
    *,
    name: Sequence[str],
    extension: str,
    content: str | bytes,
    content_type: str,
    detail: dict,
) -> HttpResponse:
    """An attachment of a page's table or chart, for users who may export; audited as
    ``export.download`` with the page's codes (never names)."""
    if not request.user.has_perm(EXPORT_PERMISSION):
        raise PermissionDenied
    filename = "-".join(slugify(part) for part in name if part) + f".{extension}"
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    audit_record(
        user=request.user, action="export.download", detail={**detail, "format": extension}
    )
    return response
