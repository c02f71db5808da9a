"""Routes of API v1 for results, trends, anonymised raw ratings and exports."""

from django.urls import path, re_path
from rest_framework.routers import SimpleRouter

from aggregation.api import comparison_views, views

router = SimpleRouter()
router.register("cells", views.CellViewSet, basename="api-cell")
router.register("comparisons", views.ComparisonViewSet, basename="api-comparison")
router.register("reliability", views.ReliabilityViewSet, basename="api-reliability")
router.register("trends", views.TrendViewSet, basename="api-trend")
router.register("ratings", views.RatingViewSet, basename="api-rating")

# Any table name reaches the view, which answers one that does not exist with a JSON 404.
EXPORT = r"^exports/(?P<wave>[-a-zA-Z0-9_]+)/(?P<table>[-a-zA-Z0-9_]+)/"
JOB = r"^export-jobs/(?P<job_id>[0-9a-f]{32})/"

urlpatterns = [
    path(
        "comparisons/adhoc/",
        comparison_views.AdhocComparisonView.as_view(),
        name="api-comparison-adhoc",
    ),
    path(
        "research-questions/",
        comparison_views.ResearchQuestionsView.as_view(),
        name="api-research-questions",
    ),
    re_path(EXPORT + r"codebook/$", views.ExportCodebookView.as_view(), name="api-export-codebook"),
    re_path(EXPORT + r"metadata/$", views.ExportMetadataView.as_view(), name="api-export-metadata"),
    re_path(EXPORT + r"download/$", views.ExportDownloadView.as_view(), name="api-export-download"),
    path("export-jobs/", views.ExportJobCreateView.as_view(), name="api-export-jobs"),
    re_path(JOB + r"$", views.ExportJobView.as_view(), name="api-export-job"),
    re_path(
        JOB + r"download/$", views.ExportJobDownloadView.as_view(), name="api-export-job-download"
    ),
    *router.urls,
]
