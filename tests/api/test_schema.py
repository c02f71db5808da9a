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
    "/api/v1/",
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


def schema_ratings_parameters(schema: dict) -> list[dict]:
    return schema["paths"]["/api/v1/ratings/"]["get"]["parameters"]


def test_the_rating_schema_has_exactly_the_anonymised_fields(demo):
    schema = api_client(demo.plain).get("/api/v1/schema/", HTTP_ACCEPT="application/json").json()
    rating = schema["components"]["schemas"]["Rating"]["properties"]
    assert set(rating) == {
        "wave",
        "round",
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
    assert rating["round"]["type"] == "integer"
    parameters = {parameter["name"]: parameter for parameter in schema_ratings_parameters(schema)}
    assert parameters["round"]["schema"] == {"type": "integer", "minimum": 1, "maximum": 10}
    assert "Delphi round" in parameters["round"]["description"]


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


@pytest.fixture
def schema(demo):
    return api_client(demo.plain).get("/api/v1/schema/", {"format": "json"}).json()


def parameters_of(schema: dict, path: str, method: str = "get") -> dict[str, dict]:
    return {p["name"]: p for p in schema["paths"][path][method]["parameters"]}


def test_the_root_lists_every_endpoint_of_the_schema(demo, schema):
    client = api_client(demo.admin)
    root = client.get("/api/v1/")
    assert root.status_code == 200
    listed = {url.removeprefix("http://127.0.0.1") for url in root.json().values()}
    assert set(schema["paths"]) - {"/api/v1/"} <= listed
    assert {"/api/v1/schema/", "/api/v1/docs/", "/api/v1/redoc/"} <= listed
    for url in listed:
        if "{" not in url:  # every address without a placeholder answers
            assert client.get(url).status_code in (200, 405), url


def test_the_schema_lists_every_filter_with_its_values_and_list_syntax(schema):
    cells = parameters_of(schema, "/api/v1/cells/")
    cube = {"wave", "run", "estimator", "panel", "holder", "subject", "perspective", "role"}
    assert cube | {"cursor", "page_size", "format"} <= set(cells)
    panel = cells["panel"]
    assert panel["schema"]["type"] == "array"
    assert (panel["style"], panel["explode"]) == ("form", True)
    assert "panel=A&panel=B" in panel["description"]
    assert "panel=A,B" in panel["description"]
    assert "ALL" in panel["description"]
    assert "Any case" in panel["description"]
    perspective = cells["perspective"]["schema"]["items"]["enum"]
    assert perspective == ["conception", "expectation", "performance"]

    assert cube - {"panel", "holder", "perspective"} <= set(
        parameters_of(schema, "/api/v1/comparisons/")
    )
    assert not {"panel", "holder", "perspective"} & set(
        parameters_of(schema, "/api/v1/comparisons/")
    )
    assert cube - {"role"} <= set(parameters_of(schema, "/api/v1/reliability/"))
    assert cube <= set(parameters_of(schema, "/api/v1/trends/"))
    ratings = parameters_of(schema, "/api/v1/ratings/")
    assert cube - {"run", "estimator"} <= set(ratings)
    assert ratings["cannot_judge"]["schema"]["type"] == "boolean"
    assert "`true`, `false`, `1` or `0`" in ratings["cannot_judge"]["description"]
    assert ratings["value_min"]["schema"]["maximum"] == 32767

    download = parameters_of(schema, "/api/v1/exports/{wave}/{table}/download/")
    assert set(download["table"]["schema"]["enum"]) == {"ratings", "cells", "comparisons"}
    assert "csv" in download["file_format"]["schema"]["enum"]
    assert download["bundle"]["schema"]["type"] == "boolean"


def test_the_schema_documents_the_400_of_every_operation(schema):
    error = schema["components"]["schemas"]["Error"]
    assert {"detail", "errors", "allowed_parameters"} <= set(error["properties"])
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            assert "400" in operation["responses"], (method, path)
            assert "format" in {p["name"] for p in operation.get("parameters", [])}, path
    cells_400 = schema["paths"]["/api/v1/cells/"]["get"]["responses"]["400"]
    assert cells_400["content"]["application/json"]["schema"]["$ref"].endswith("/Error")
    assert "allowed_values" in cells_400["description"]
