"""The admin report pages, under ``/admin/reports/``."""

from django.urls import path

from reports.builder import comparison_builder
from reports.delphi import delphi_report
from reports.research_questions import research_questions_view
from reports.views import (
    comparison,
    dyad,
    overview,
    reliability_report,
    role_network_map,
    trends,
)

app_name = "reports"
urlpatterns = [
    path("comparison/", comparison, name="comparison"),
    path("overview/", overview, name="overview"),
    path("dyad/", dyad, name="dyad"),
    path("trends/", trends, name="trends"),
    path("reliability/", reliability_report, name="reliability"),
    path("network/", role_network_map, name="network"),
    path("delphi/<int:study_id>/", delphi_report, name="delphi"),
    path("research-questions/", research_questions_view, name="research_questions"),
    path("builder/", comparison_builder, name="builder"),
]
