"""The OpenAPI 3 schema validates, documents every endpoint, and its docs need no CDN."""

import re
from io import StringIO

import pytest
import yaml
from django.contrib.staticfiles import finders
from django.core.management import call_command
from drf_spectacular.validation import validate_schema

from tests.api.demo import api_client

pytestmark = pytest.mark.django_db

ENDPOINTS = [
    "/api/v1/actors/",
    "/api/v1/roles/",
    "/api/v1/panels/",
    "/api/v1/waves/",
    "/api/v1/waves/{slug}/",
    "/api/v1/items/",
    "/api/v1/cells/",
    "/api/v1/comparisons/",
    "/api/v1/reliability/",
    "/api/v1/trends/",
    "/api/v1/ratings/",
    "/api/v1/exports/{wave}/{table}/download/",
    "/api/v1/exports/{wave}/{table}/codebook/",
    "/api/v1/exports/{wave}/{table}/metadata/",
    "/api/v1/export-jobs/",
    "/api/v1/export-jobs/{job_id}/",
    "/api/v1/export-jobs/{job_id}/download/",
    "/api/v1/waves/{slug}/ratings-import/",
    "/api/v1/auth/token/",
]


def test_the_schema_generates_without_warnings_and_validates(tmp_path):
    out = tmp_path / "schema.yaml"
    call_command(
        "spectacular", "--validate", "--fail-on-warn", "--file", str(out), stderr=StringIO()
    )
    schema = yaml.safe_load(out.read_text())
    validate_schema(schema)
    assert schema["openapi"].startswith("3.")
    assert set(ENDPOINTS) <= set(schema["paths"])
    assert {"knoxApiToken", "cookieAuth"} <= set(schema["components"]["securitySchemes"])


def test_the_schema_endpoint_serves_it_to_users(demo):
    response = api_client(demo.plain).get("/api/v1/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    validate_schema(response.json())


def test_the_rating_schema_has_exactly_the_anonymised_fields(demo):
    schema = api_client(demo.plain).get("/api/v1/schema/", HTTP_ACCEPT="application/json").json()
    rating = schema["components"]["schemas"]["Rating"]["properties"]
    assert set(rating) == {
        "wave",
        "pseudonym",
        "panel",
        "holder",
        "subject",
        "perspective",
        "role",
        "value",
        "cannot_judge",
        "confidence",
        "submitted_on",
        "source",
    }
    assert rating["submitted_on"]["format"] == "date"


@pytest.mark.parametrize("page", ["/api/v1/docs/", "/api/v1/redoc/"])
def test_the_interactive_docs_load_nothing_from_another_host(demo, page):
    html = api_client(demo.plain).get(page).content.decode()
    sources = re.findall(r"""(?:src|href)=["']([^"']+)["']""", html)
    assert sources
    for source in sources:
        assert not re.match(r"^(https?:)?//", source), source
    assets = [s for s in sources if s.startswith("/static/")]
    assert assets
    for asset in assets:
        assert finders.find(asset.removeprefix("/static/")), asset
