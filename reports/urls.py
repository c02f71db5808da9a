"""The admin report pages, under ``/admin/reports/``."""

from django.urls import path

from reports.delphi import delphi_report
from reports.views import comparison, dyad, overview, role_network_map, trends

app_name = "reports"
urlpatterns = [
    path("comparison/", comparison, name="comparison"),
    path("overview/", overview, name="overview"),
    path("dyad/", dyad, name="dyad"),
    path("trends/", trends, name="trends"),
    path("network/", role_network_map, name="network"),
    path("delphi/<int:study_id>/", delphi_report, name="delphi"),
]
