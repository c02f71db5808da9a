"""Exports and codebooks of every estimator: estimator and version as columns and metadata."""

import csv
import io

import pytest
from django.contrib.auth.models import User

from aggregation import exports
from aggregation.models import EstimatorResult
from aggregation.services import aggregation_run_wave
from tests.api.demo import api_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def run(vignette_wave):
    return aggregation_run_wave(wave_id=vignette_wave.pk)


def _rows(source) -> list[dict]:
    return list(csv.DictReader(io.StringIO(b"".join(exports.iter_csv(source)).decode())))


def test_cells_export_of_an_estimator_carries_its_name_and_version(run, vignette_wave):
    source = exports.export_source(wave=vignette_wave, table="cells", estimator="ordinal_irt")
    rows = _rows(source)
    version = EstimatorResult.objects.get(run=run, estimator="ordinal_irt").estimator_version
    assert rows and {(row["estimator"], row["estimator_version"]) for row in rows} == {
        ("ordinal_irt", version)
    }
    info = exports.metadata(source, "csv")
    assert info["estimator"] == "ordinal_irt" and info["estimator_version"] == version
    assert info["estimator_status"] == "complete, fast mode"
    book = exports.codebook(source)
    assert book["estimator"] == "ordinal_irt"
    assert {"estimator", "estimator_version"} <= {v["name"] for v in book["variables"]}


def test_default_export_is_the_plain_means(run, vignette_wave):
    rows = _rows(exports.export_source(wave=vignette_wave, table="comparisons"))
    assert rows and {row["estimator"] for row in rows} == {"plain_means"}


def test_not_converged_and_not_applicable_reach_the_metadata(run, vignette_wave, rated_wave):
    EstimatorResult.objects.filter(run=run, estimator="ordinal_irt").update(
        mode="full", converged=False
    )
    source = exports.export_source(wave=vignette_wave, table="comparisons", estimator="ordinal_irt")
    assert "not converged" in exports.metadata(source, "csv")["estimator_status"]
    EstimatorResult.objects.filter(run=run, estimator="aldrich_mckelvey").update(
        status="not_applicable", note="not applicable: no vignettes"
    )
    source = exports.export_source(wave=vignette_wave, table="cells", estimator="aldrich_mckelvey")
    assert exports.metadata(source, "csv")["estimator_status"] == "not applicable: no vignettes"


def test_api_download_takes_the_estimator_and_refuses_an_unknown_one(run):
    client = api_client(User.objects.create_superuser("export-admin", password="pw-export"))
    response = client.get("/api/v1/exports/test-wave/cells/download/?estimator=aldrich_mckelvey")
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert {row["estimator"] for row in rows} == {"aldrich_mckelvey"}
    bad = client.get("/api/v1/exports/test-wave/cells/codebook/?estimator=bayes")
    assert bad.status_code == 400
    assert "plain_means" in bad.json()["errors"]["estimator"]["allowed_values"]
    book = client.get("/api/v1/exports/test-wave/cells/codebook/?estimator=vignette_cscores")
    assert book.json()["estimator"] == "vignette_cscores"
