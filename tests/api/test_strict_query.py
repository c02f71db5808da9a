"""Strict query parameters: every endpoint refuses an unknown parameter and a bad value with a
400 that names what is allowed; lists in both syntaxes, booleans as true/false/1/0 and codes
in any case work on every list."""

import json

import pytest
from django.core.cache import cache
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer

from aggregation.models import AggregationRun, CellResult
from aggregation.selectors import run_latest_complete
from surveys.models import Wave
from tests.api.demo import api_client

pytestmark = pytest.mark.django_db

PATH_VALUES = {
    "slug": "2025",
    "wave": "2025",
    "table": "cells",
    "job_id": "0" * 32,
}
CODES = {"actors": "RUS", "roles": "protectee", "panels": "MOW"}


def _operations() -> list[tuple[str, str]]:
    """Every (method, path) of the schema, its path parameters filled with real values."""
    raw = SchemaGenerator().get_schema(request=None, public=True)
    schema = json.loads(OpenApiJsonRenderer().render(raw))
    operations = []
    for template, item in schema["paths"].items():
        path = template
        for name, value in PATH_VALUES.items():
            path = path.replace(f"{{{name}}}", value)
        if "{code}" in path:
            path = path.replace("{code}", CODES[template.split("/")[3]])
        operations += [(method.upper(), path) for method in item if method != "parameters"]
    return operations


OPERATIONS = _operations()


@pytest.fixture
def admin(demo):
    cache.clear()  # the token endpoint is throttled
    return api_client(demo.admin)


def call(client, method: str, path: str, query: str):
    return getattr(client, method.lower())(f"{path}?{query}")


def test_every_endpoint_is_covered():
    paths = {path for _method, path in OPERATIONS}
    assert {"/api/v1/", "/api/v1/cells/", "/api/v1/auth/token/"} <= paths
    assert len(OPERATIONS) >= 22


@pytest.mark.parametrize(("method", "path"), OPERATIONS)
def test_every_endpoint_refuses_an_unknown_parameter_and_names_the_allowed(admin, method, path):
    response = call(admin, method, path, "subjekt=ARM")
    assert response.status_code == 400, response.content
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["errors"]["subjekt"]["code"] == "unknown_parameter"
    assert "subjekt" in body["detail"]
    assert "format" in body["allowed_parameters"]
    assert "subjekt" not in body["allowed_parameters"]


@pytest.mark.parametrize(("method", "path"), OPERATIONS)
def test_every_endpoint_refuses_a_bad_value(admin, method, path):
    response = call(admin, method, path, "format=xml")
    assert response.status_code == 400, response.content
    error = response.json()["errors"]["format"]
    assert error["code"] == "invalid_format"
    assert "json" in error["allowed_values"]


BAD_VALUES = [
    ("/api/v1/actors/", "kind", "planet", "state"),
    ("/api/v1/roles/", "is_active", "maybe", "true"),
    ("/api/v1/waves/", "status", "someday", "open"),
    ("/api/v1/waves/", "is_synthetic", "yes", "1"),
    ("/api/v1/items/", "code", "no.such.item", None),
    ("/api/v1/items/", "panel", "XXX", "MOW"),
    ("/api/v1/cells/", "perspective", "sideways", "conception"),
    ("/api/v1/cells/", "panel", "XXX", "ALL"),
    ("/api/v1/cells/", "run", "999999", None),
    ("/api/v1/cells/", "estimator", "bayes", "plain_means"),
    ("/api/v1/comparisons/", "preset", "nope", "ascribed_vs_conceived"),
    ("/api/v1/comparisons/", "method", "anova", "paired"),
    ("/api/v1/reliability/", "holder", "XXX", "RUS"),
    ("/api/v1/trends/", "role", "emperor", "protectee"),
    ("/api/v1/ratings/", "cannot_judge", "maybe", "0"),
    ("/api/v1/ratings/", "wave", "1999", "2021"),
    ("/api/v1/ratings/", "source", "telepathy", "import"),
    ("/api/v1/exports/2025/cells/download/", "file_format", "docx", "csv"),
    ("/api/v1/exports/2025/cells/metadata/", "bundle", "maybe", "1"),
]


@pytest.mark.parametrize(("path", "name", "bad", "allowed"), BAD_VALUES)
def test_a_value_that_is_not_allowed_is_a_400_listing_the_allowed(admin, path, name, bad, allowed):
    response = admin.get(path, {name: bad})
    assert response.status_code == 400, response.content
    error = response.json()["errors"][name]
    assert bad not in response.content.decode()
    if allowed is not None:
        assert allowed in error["allowed_values"]
        assert admin.get(path, {name: allowed}).status_code == 200


def test_numbers_out_of_range_and_repeated_single_values_are_400(admin):
    cases = [
        ({"value_min": "abc"}, "value_min", "invalid_integer"),
        ({"value_min": "99999"}, "value_max", None),
        ({"confidence_max": "-99999"}, "confidence_max", "min_value"),
        ({"page_size": "0"}, "page_size", "invalid_page_size"),
        ({"page_size": "ten"}, "page_size", "invalid_page_size"),
        ({"cannot_judge": ["true", "false"]}, "cannot_judge", "repeated"),
        ({"round": "0"}, "round", "min_value"),
        ({"round": "second"}, "round", "invalid_integer"),
    ]
    for params, name, code in cases:
        response = admin.get("/api/v1/ratings/", params)
        body = response.json()
        if code is None:  # 99999 is above a smallint: value_min's own error
            assert response.status_code == 400
            assert body["errors"]["value_min"]["code"] == "max_value"
            assert "32767" in body["errors"]["value_min"]["message"]
            continue
        assert response.status_code == 400, params
        assert body["errors"][name]["code"] == code, params


def test_a_filter_a_table_has_no_column_for_is_refused(admin):
    """comparisons/ has no panel, holder or perspective column: it said nothing before."""
    for name in ("panel", "holder", "perspective"):
        response = admin.get("/api/v1/comparisons/", {name: "MOW"})
        assert response.status_code == 400
        body = response.json()
        assert name in body["errors"]
        assert {"wave", "run", "estimator", "preset", "subject", "role", "method"} <= set(
            body["allowed_parameters"]
        )
        assert name not in body["allowed_parameters"]


def rows(client, path: str, query: str) -> list[dict]:
    response = client.get(f"{path}?{query}")
    assert response.status_code == 200, response.content
    return response.json()["results"]


LISTS = [
    ("/api/v1/actors/", "kind", "state", "organisation"),
    ("/api/v1/waves/", "status", "open", "closed"),
    ("/api/v1/items/", "panel", "MOW", "YER"),
    ("/api/v1/cells/", "panel", "MOW", "YER"),
    ("/api/v1/comparisons/", "subject", "ARM", "KAZ"),
    ("/api/v1/reliability/", "panel", "MOW", "YER"),
    ("/api/v1/trends/", "panel", "MOW", "ALL"),
    ("/api/v1/ratings/", "panel", "MOW", "YER"),
]


@pytest.mark.parametrize(("path", "name", "first", "second"), LISTS)
def test_lists_are_given_repeated_or_comma_separated(admin, path, name, first, second):
    query = "page_size=10000" if "ratings" not in path else "page_size=10000&wave=2025"
    repeated = rows(admin, path, f"{query}&{name}={first}&{name}={second}")
    commas = rows(admin, path, f"{query}&{name}={first},{second}")
    mixed = rows(admin, path, f"{query}&{name}={first},&{name}={second}")
    assert repeated == commas == mixed
    one = rows(admin, path, f"{query}&{name}={first}")
    other = rows(admin, path, f"{query}&{name}={second}")
    if path == "/api/v1/items/":  # an item asked of both panels is listed once
        assert max(len(one), len(other)) <= len(repeated) <= len(one) + len(other)
    else:
        assert len(repeated) == len(one) + len(other)
        assert {row[name] for row in one} <= {first}


WRONG_CASE = [
    ("/api/v1/actors/", "kind", "STATE", "state"),
    ("/api/v1/waves/", "status", "Open", "open"),
    ("/api/v1/items/", "role", "PROTECTEE", "protectee"),
    ("/api/v1/cells/", "panel", "mow,all", "MOW,ALL"),
    ("/api/v1/cells/", "estimator", "Plain_Means", "plain_means"),
    ("/api/v1/comparisons/", "preset", "Ascribed_VS_Conceived", "ascribed_vs_conceived"),
    ("/api/v1/reliability/", "perspective", "CONCEPTION", "conception"),
    ("/api/v1/trends/", "holder", "arm", "ARM"),
    ("/api/v1/ratings/", "subject", "kaz", "KAZ"),
    ("/api/v1/ratings/", "pseudonym", None, None),
]


@pytest.mark.parametrize(("path", "name", "wrong", "stored"), WRONG_CASE)
def test_codes_are_read_in_any_case(admin, path, name, wrong, stored):
    if wrong is None:  # a real pseudonym
        stored = rows(admin, path, "page_size=1")[0]["pseudonym"]
        wrong = stored.lower()
    matched = rows(admin, path, f"page_size=10000&{name}={wrong}")
    assert matched, (path, name)
    assert matched == rows(admin, path, f"page_size=10000&{name}={stored}")


def test_codes_in_paths_are_read_in_any_case(admin):
    assert admin.get("/api/v1/actors/rus/").json()["code"] == "RUS"
    assert admin.get("/api/v1/roles/PROTECTEE/").json()["code"] == "protectee"
    assert admin.get("/api/v1/panels/mow/").json()["code"] == "MOW"
    assert admin.get("/api/v1/exports/2025/CELLS/codebook/").status_code == 200
    assert admin.get("/api/v1/actors/NOWHERE/").status_code == 404


def test_booleans_are_true_false_1_or_0_in_any_case(admin):
    judged = rows(admin, "/api/v1/ratings/", "wave=2025&page_size=10000&cannot_judge=0")
    assert judged and not any(row["cannot_judge"] for row in judged)
    assert judged == rows(admin, "/api/v1/ratings/", "wave=2025&page_size=10000&cannot_judge=false")
    assert judged == rows(admin, "/api/v1/ratings/", "wave=2025&page_size=10000&cannot_judge=FALSE")
    could_not = rows(admin, "/api/v1/ratings/", "wave=2025&page_size=10000&cannot_judge=1")
    assert could_not and all(row["cannot_judge"] for row in could_not)
    assert could_not == rows(
        admin, "/api/v1/ratings/", "wave=2025&page_size=10000&cannot_judge=True"
    )
    everything = rows(admin, "/api/v1/ratings/", "wave=2025&page_size=10000")
    assert len(judged) + len(could_not) == len(everything)
    assert rows(admin, "/api/v1/roles/", "is_active=1") == rows(
        admin, "/api/v1/roles/", "is_active=true"
    )
    bundle = admin.get("/api/v1/exports/2025/cells/download/?bundle=1")
    assert bundle.status_code == 200
    assert bundle["Content-Type"] == "application/zip"


def test_runs_and_estimators_choose_the_results(admin):
    wave = Wave.objects.get(slug="2025")
    newest = run_latest_complete(wave=wave)
    older = AggregationRun.objects.filter(wave=wave, status="complete").exclude(pk=newest.pk)
    default = rows(admin, "/api/v1/cells/", "wave=2025&page_size=10000")
    assert {row["run"] for row in default} == {newest.pk}
    assert default == rows(
        admin, "/api/v1/cells/", "wave=2025&page_size=10000&estimator=plain_means"
    )
    runs = [newest.pk, *older.values_list("pk", flat=True)]
    both = rows(admin, "/api/v1/cells/", "page_size=10000&run=" + ",".join(map(str, runs)))
    assert {row["run"] for row in both} == set(runs)
    assert len(both) == CellResult.objects.filter(run_id__in=runs, estimator="plain_means").count()
    trends = rows(admin, "/api/v1/trends/", f"page_size=10000&run={newest.pk}")
    assert {row["run"] for row in trends} == {newest.pk}


def test_an_unknown_parameter_that_could_be_personal_data_is_not_repeated(admin):
    response = admin.get("/api/v1/cells/?jane.doe%40example.org=1&Synthetic+Expert=2")
    assert response.status_code == 400
    text = response.content.decode()
    assert "jane" not in text and "Synthetic" not in text
    assert list(response.json()["errors"]) == ["(not shown)"]


def test_allowed_values_stay_whole_when_the_client_sent_one_of_them(admin):
    """The error handler blanks messages that repeat input; allowed values are the API's own."""
    response = admin.get("/api/v1/cells/", {"panel": "MOW,XYZ"})
    assert response.status_code == 400
    assert {"MOW", "YER", "ALL"} <= set(response.json()["errors"]["panel"]["allowed_values"])
