"""Routes of API v1 for the root, the instrument, the import, tokens, the schema and its docs.

The results, raw ratings and exports are routed in ``aggregation.api.urls``; both are
included under ``/api/v1/`` by ``project.urls``. Any other path under ``/api/`` is a JSON 404
(``project.middleware.ApiJsonErrorsMiddleware``).
"""

from django.urls import include, path
from drf_spectacular.views import SpectacularSwaggerView
from rest_framework.routers import SimpleRouter

from surveys.api import views

router = SimpleRouter()
router.register("actors", views.ActorViewSet, basename="api-actor")
router.register("roles", views.RoleViewSet, basename="api-role")
router.register("panels", views.PanelViewSet, basename="api-panel")
router.register("waves", views.WaveViewSet, basename="api-wave")
router.register("items", views.ItemViewSet, basename="api-item")

urlpatterns = [
    path("", views.ApiRootView.as_view(), name="api-root"),
    path("schema/", views.SchemaView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("redoc/", views.RedocView.as_view(url_name="api-schema"), name="api-redoc"),
    path("auth/token/", views.TokenObtainView.as_view(), name="api-token"),
    path("auth/token/logout/", views.TokenRevokeView.as_view(), name="api-token-revoke"),
    path("auth/token/logout-all/", views.TokenRevokeAllView.as_view(), name="api-token-revoke-all"),
    path("auth/", include("rest_framework.urls")),
    path(
        "waves/<slug:slug>/ratings-import/",
        views.RatingsImportView.as_view(),
        name="api-ratings-import",
    ),
    *router.urls,
]
