"""URL routes."""

from django.contrib import admin
from django.urls import include, path

from surveys.second_factor import second_factor

urlpatterns = [
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/reports/", include("reports.urls")),  # admin report pages
    path("admin/second-factor/", second_factor, name="second-factor"),
    path("admin/", admin.site.urls),
    path("api/v1/", include("surveys.api.urls")),
    path("api/v1/", include("aggregation.api.urls")),
    path("", include("surveys.urls")),
]
