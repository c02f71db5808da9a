"""Every error under /api/ is JSON: unknown paths, bad export tables, wrong methods, server
errors, a bad host, the schema's own errors, with DEBUG on or off; other paths keep HTML."""

import pytest
from django.core.cache import cache
from django.db import OperationalError

from aggregation.api import views as aggregation_views
from tests.api.demo import api_client

pytestmark = pytest.mark.django_db

UNKNOWN_PATHS = [
    "/api/",
    "/api/v1/nowhere/",
    "/api/v2/cells/",
    "/api/v1/cells/1/extra/",
    "/api/v1/exports/2025/",
]


def assert_json(response, status: int) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    return response.json()


@pytest.mark.parametrize("debug", [False, True])
def test_an_unknown_path_under_api_is_a_json_404(demo, settings, debug):
    settings.DEBUG = debug
    client = api_client(demo.researcher)
    for path in UNKNOWN_PATHS:
        body = assert_json(client.get(path), 404)
        assert body["detail"].startswith("Not found")
        assert body["api_root"] == "/api/v1/"


def test_other_paths_keep_their_html_error_pages(client, db):
    response = client.get("/no/such/page/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


@pytest.mark.parametrize("part", ["download", "codebook", "metadata"])
def test_a_bad_export_table_is_a_json_404_naming_the_tables(demo, part):
    client = api_client(demo.researcher)
    body = assert_json(client.get(f"/api/v1/exports/2025/experts/{part}/"), 404)
    assert body == {
        "detail": "No such table.",
        "allowed_values": ["ratings", "cells", "comparisons"],
    }
    assert_json(client.get(f"/api/v1/exports/1999/cells/{part}/"), 404)


def test_a_bad_export_table_still_needs_the_export_permission(demo):
    body = assert_json(api_client(demo.panel_admin).get("/api/v1/exports/2025/x/codebook/"), 403)
    assert "allowed_values" not in body
    assert_json(api_client().get("/api/v1/exports/2025/x/codebook/"), 401)


def test_a_wrong_method_is_a_json_405(demo):
    response = api_client(demo.researcher).delete("/api/v1/cells/")
    assert_json(response, 405)
    assert response["Allow"]


@pytest.mark.parametrize("debug", [False, True])
def test_a_server_error_is_a_json_500(demo, settings, monkeypatch, debug):
    settings.DEBUG = debug

    def broken(self):
        raise RuntimeError("broken on purpose")

    monkeypatch.setattr(aggregation_views.CellViewSet, "get_queryset", broken)
    client = api_client(demo.researcher)
    client.raise_request_exception = False
    body = assert_json(client.get("/api/v1/cells/"), 500)
    assert body == {"detail": "Internal Server Error."}


def test_a_lost_database_is_a_json_503_with_a_detail(demo, monkeypatch):
    def lost(self):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(aggregation_views.CellViewSet, "get_queryset", lost)
    response = api_client(demo.researcher).get("/api/v1/cells/")
    body = assert_json(response, 503)
    assert "try again" in body["detail"]
    assert response["Retry-After"]


def test_a_bad_host_is_a_json_400(demo):
    client = api_client(demo.researcher)
    body = assert_json(client.get("/api/v1/cells/", HTTP_HOST="evil.example.com"), 400)
    assert "evil" not in str(body)


def test_the_schema_answers_errors_in_json_not_yaml(demo):
    assert_json(api_client().get("/api/v1/schema/"), 401)
    body = assert_json(api_client(demo.plain).get("/api/v1/schema/?lang=en&foo=1"), 400)
    assert body["allowed_parameters"] == ["format", "lang"]
    schema = api_client(demo.plain).get("/api/v1/schema/", {"format": "json"})
    assert schema.status_code == 200


def test_authentication_errors_are_json(demo):
    cache.clear()
    assert_json(api_client().get("/api/v1/"), 401)
    assert_json(api_client().get("/api/v1/cells/?subjekt=1"), 401)  # who first, then what
    assert_json(api_client(demo.plain).get("/api/v1/cells/"), 403)
