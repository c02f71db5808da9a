"""No endpoint response and no export of the demo, in any format, carries an expert's name,
e-mail, affiliation or invitation token hash.

Binary formats are read back (ZIP members, XLSX sheets, Parquet data and key-values, Stata
and SPSS data and labels) so that compression cannot hide a leak.
"""

import html
import io
import json
import zipfile
from pathlib import Path

import pyarrow.parquet as pq
import pyreadstat
import pytest
from django.urls import reverse

from aggregation import exports
from surveys.models import Expert
from tests.api.demo import api_client, secrets_of_experts

pytestmark = pytest.mark.django_db

LISTS = [
    "/api/v1/actors/",
    "/api/v1/roles/",
    "/api/v1/panels/",
    "/api/v1/waves/",
    "/api/v1/items/",
    "/api/v1/cells/",
    "/api/v1/comparisons/",
    "/api/v1/reliability/",
    "/api/v1/trends/",
    "/api/v1/ratings/",
]
DETAILS = [
    "/api/v1/waves/2025/",
    "/api/v1/waves/2021/",
    "/api/v1/actors/RUS/",
    "/api/v1/roles/protectee/",
    "/api/v1/panels/MOW/",
    "/api/v1/schema/",
    "/api/v1/docs/",
    "/api/v1/redoc/",
]


def text_of_file(name: str, content: bytes, tmp_path: Path) -> str:
    """Everything a reader of the file sees, as text."""
    suffix = Path(name).suffix.lower()
    if suffix == ".zip":
        with zipfile.ZipFile(io.BytesIO(content)) as bundle:
            return "\n".join(
                text_of_file(member, bundle.read(member), tmp_path) for member in bundle.namelist()
            )
    if suffix in (".csv", ".json"):
        return content.decode("utf-8")
    if suffix == ".xlsx":  # a ZIP of XML parts: every cell, label and property, unescaped
        with zipfile.ZipFile(io.BytesIO(content)) as workbook:
            return "\n".join(
                html.unescape(workbook.read(part).decode("utf-8")) for part in workbook.namelist()
            )
    if suffix == ".parquet":
        table = pq.read_table(io.BytesIO(content))
        metadata = {k.decode(): v.decode() for k, v in (table.schema.metadata or {}).items()}
        return table.to_pandas().to_csv() + json.dumps(metadata)
    if suffix in (".dta", ".sav"):
        path = tmp_path / f"read{suffix}"
        path.write_bytes(content)
        reader = pyreadstat.read_dta if suffix == ".dta" else pyreadstat.read_sav
        frame, meta = reader(str(path))
        labels = json.dumps(
            {
                "columns": meta.column_names_to_labels,
                "values": {
                    k: {str(c): v for c, v in d.items()}
                    for k, d in meta.variable_value_labels.items()
                },
                "file": meta.file_label,
                "notes": getattr(meta, "notes", []),
            }
        )
        return frame.to_csv() + labels
    raise AssertionError(f"unexpected export file {name}")


def every_page(client, url: str) -> list[str]:
    bodies = []
    response = client.get(url, {"page_size": 10_000})
    while True:
        assert response.status_code == 200, url
        bodies.append(response.content.decode())
        following = response.json().get("next")
        if not following:
            return bodies
        response = client.get(following)


def test_the_demo_has_the_identities_to_look_for(demo):
    secrets = secrets_of_experts()
    assert Expert.objects.count() >= 75
    assert any("@example.org" in secret for secret in secrets)
    assert any(secret.startswith("Synthetic Expert") for secret in secrets)


@pytest.mark.parametrize("user", ["researcher", "admin"])
def test_no_api_response_names_an_expert(demo, user):
    client = api_client(getattr(demo, user))
    secrets = secrets_of_experts()
    bodies = [body for url in LISTS for body in every_page(client, url)]
    for url in DETAILS:
        response = client.get(url)
        assert response.status_code == 200, url
        bodies.append(response.content.decode())
    for table in exports.TABLES:
        for part in ("codebook", "metadata"):
            bodies.append(client.get(f"/api/v1/exports/2025/{table}/{part}/").content.decode())
    everything = "\n".join(bodies)
    assert "R-" in everything  # pseudonyms are there …
    leaked = [secret for secret in secrets if secret in everything]
    assert not leaked  # … identities are not


def test_no_export_in_any_format_names_an_expert(demo, tmp_path, settings):
    settings.EXPORT_DIR = tmp_path / "jobs"
    client = api_client(demo.researcher)
    secrets = secrets_of_experts()
    texts = []
    # A bundle holds the data file, the codebook and the metadata; CSV and JSON also stream
    # bare.
    downloads = [(file_format, True) for file_format in exports.FORMATS]
    downloads += [(file_format, False) for file_format in exports.STREAMING_FORMATS]
    for wave in ("2021", "2025"):
        for table in exports.TABLES:
            for file_format, bundle in downloads:
                response = client.get(
                    reverse("api-export-download", args=[wave, table]),
                    {"file_format": file_format, "bundle": str(bundle).lower()},
                )
                assert response.status_code == 200, (wave, table, file_format, bundle)
                content = b"".join(response.streaming_content)
                name = response["Content-Disposition"].split('filename="')[1].rstrip('"')
                texts.append(text_of_file(name, content, tmp_path))
    everything = "\n".join(texts)
    assert "R-" in everything
    leaked = [secret for secret in secrets if secret in everything]
    assert not leaked


def test_an_export_job_bundle_names_no_expert(demo, tmp_path, settings, mocker):
    settings.EXPORT_DIR = tmp_path / "jobs"
    mocker.patch(
        "aggregation.exports.jobs.export_job_dispatch",
        side_effect=lambda job_id: exports.export_job_run(job_id=job_id),
    )
    client = api_client(demo.researcher)
    secrets = secrets_of_experts()
    from django.test import TestCase

    with TestCase.captureOnCommitCallbacks(execute=True):
        created = client.post(
            "/api/v1/export-jobs/",
            {"wave": "2025", "table": "ratings", "file_format": "sav"},
            format="json",
        )
    assert created.status_code == 202
    job = client.get(created.json()["status_url"]).json()
    assert job["status"] == "done"
    response = client.get(job["download_url"])
    text = text_of_file("bundle.zip", b"".join(response.streaming_content), tmp_path)
    assert not [secret for secret in secrets if secret in text]
    assert not [secret for secret in secrets if secret in json.dumps(job)]
