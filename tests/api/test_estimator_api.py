"""``?estimator=``: every estimator's result set through the API, plain means by default."""

import pytest
from django.contrib.auth.models import User

from aggregation.models import EstimatorResult
from aggregation.services import aggregation_run_wave
from tests.api.demo import api_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def client_and_run(vignette_wave):
    run = aggregation_run_wave(wave_id=vignette_wave.pk)
    admin = User.objects.create_superuser("api-admin", password="api-admin-pw")
    return api_client(admin), run


def _rows(client, path: str, query: str) -> list[dict]:
    response = client.get(f"{path}?{query}&page_size=10000")
    assert response.status_code == 200, response.content
    return response.json()["results"]


def test_default_is_plain_means_and_each_estimator_reads_its_own_rows(client_and_run):
    client, run = client_and_run
    default = _rows(client, "/api/v1/cells/", "wave=test-wave")
    assert {row["estimator"] for row in default} == {"plain_means"}
    assert default == _rows(client, "/api/v1/cells/", "wave=test-wave&estimator=plain_means")
    for name in ("aldrich_mckelvey", "ordinal_irt", "vignette_cscores"):
        rows = _rows(client, "/api/v1/cells/", f"wave=test-wave&estimator={name}")
        assert rows and {row["estimator"] for row in rows} == {name}
        assert {row["estimator_version"] for row in rows} == {
            EstimatorResult.objects.get(run=run, estimator=name).estimator_version
        }


def test_irt_comparisons_carry_the_probability_of_the_sign(client_and_run):
    client, _ = client_and_run
    rows = _rows(
        client,
        "/api/v1/comparisons/",
        "estimator=ordinal_irt&preset=ascribed_vs_conceived&subject=ARM",
    )
    assert len(rows) == 3
    assert all(row["method"] == "laplace" and 0.5 <= row["prob_sign"] <= 1 for row in rows)
    assert all(row["converged"] is True for row in rows)
    plain = _rows(client, "/api/v1/comparisons/", "preset=ascribed_vs_conceived&subject=ARM")
    assert all(row["prob_sign"] is None and row["converged"] is None for row in plain)


def test_a_not_converged_fit_is_marked_on_every_row(client_and_run):
    client, run = client_and_run
    EstimatorResult.objects.filter(run=run, estimator="ordinal_irt").update(
        mode="full", converged=False
    )
    rows = _rows(client, "/api/v1/cells/", "estimator=ordinal_irt")
    assert rows and {row["converged"] for row in rows} == {False}


def test_an_unknown_estimator_is_a_400_naming_the_allowed(client_and_run):
    client, _ = client_and_run
    response = client.get("/api/v1/cells/?estimator=bayes")
    assert response.status_code == 400
    allowed = response.json()["errors"]["estimator"]["allowed_values"]
    assert allowed == ["plain_means", "aldrich_mckelvey", "ordinal_irt", "vignette_cscores"]
