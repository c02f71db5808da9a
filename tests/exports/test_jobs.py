"""Small exports stream at once; large ones run as jobs with a status and an expiring link.
Every export is audited (table, format, wave, rows)."""

import io
import os
import time
import zipfile

import pandas as pd
import pytest
from django.contrib.auth.models import User
from django.test import TestCase

from aggregation import export_tasks, exports
from surveys.models import AuditEntry
from tests.api.demo import api_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def export_dir(settings, tmp_path):
    settings.EXPORT_DIR = tmp_path / "exports"
    return settings.EXPORT_DIR


@pytest.fixture
def run_jobs_here(mocker):
    """Jobs run in this process as soon as they are queued (the dispatch is the task)."""
    return mocker.patch(
        "aggregation.exports.jobs.export_job_dispatch",
        side_effect=lambda job_id: export_tasks.export_build(job_id) and True,
    )


def start_job(client, **body):
    with TestCase.captureOnCommitCallbacks(execute=True):
        return client.post("/api/v1/export-jobs/", body, format="json")


def test_small_exports_stream_and_are_audited(demo):
    client = api_client(demo.researcher)
    response = client.get("/api/v1/exports/2025/ratings/download/", {"file_format": "csv"})
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"].startswith("text/csv")
    assert 'filename="2025_ratings.csv"' in response["Content-Disposition"]
    frame = pd.read_csv(io.BytesIO(b"".join(response.streaming_content)))
    entry = AuditEntry.objects.get(action="export.download")
    assert entry.user == demo.researcher
    assert entry.detail == {"table": "ratings", "format": "csv", "wave": "2025", "rows": len(frame)}


def test_a_direct_download_of_too_many_rows_points_to_a_job(demo, settings):
    settings.EXPORT_SYNC_MAX_ROWS = 100
    response = api_client(demo.researcher).get("/api/v1/exports/2025/ratings/download/")
    assert response.status_code == 409
    assert response.json()["export_jobs_url"].endswith("/api/v1/export-jobs/")
    assert not AuditEntry.objects.filter(action="export.download").exists()


def test_a_job_builds_a_bundle_behind_an_expiring_signed_link(demo, export_dir, run_jobs_here):
    client = api_client(demo.researcher)
    created = start_job(client, wave="2025", table="cells", file_format="parquet")
    assert created.status_code == 202
    job = client.get(created.json()["status_url"]).json()
    assert job["status"] == "done"
    assert job["rows"] > 0 and job["size"] > 0
    assert job["expires_at"]
    response = client.get(job["download_url"])
    assert response.status_code == 200
    with zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content))) as bundle:
        assert set(bundle.namelist()) == {
            "2025_cells.parquet",
            "codebook.csv",
            "codebook.json",
            "metadata.json",
        }
        frame = pd.read_parquet(io.BytesIO(bundle.read("2025_cells.parquet")))
    assert len(frame) == job["rows"]
    actions = list(
        AuditEntry.objects.filter(action__startswith="export.")
        .order_by("id")
        .values_list("action", "detail")
    )
    assert [action for action, _ in actions] == ["export.create", "export.download"]
    assert all(
        {k: detail[k] for k in ("table", "format", "wave", "rows")}
        == {"table": "cells", "format": "parquet", "wave": "2025", "rows": job["rows"]}
        for _, detail in actions
    )


def test_links_expire_and_cannot_be_forged_or_shared(demo, export_dir, run_jobs_here, settings):
    client = api_client(demo.researcher)
    job = client.get(
        start_job(client, wave="2025", table="comparisons", file_format="csv").json()["status_url"]
    ).json()
    url = job["download_url"]
    forged = url[:-3] + ("aaa" if not url.endswith("aaa") else "bbb")
    assert client.get(forged).status_code == 403
    assert client.get(url.split("?")[0]).status_code == 403

    other = User.objects.create_superuser("other-admin")
    assert api_client(other).get(job["status_url"]).status_code == 200  # admins see jobs …
    colleague = User.objects.create_user("colleague")
    colleague.groups.set(demo.researcher.groups.all())
    assert api_client(colleague).get(job["status_url"]).status_code == 404  # … others do not
    assert api_client(colleague).get(url).status_code == 404
    assert api_client().get(url).status_code == 401

    settings.EXPORT_LINK_MAX_AGE_SECONDS = -1  # every link is now older than its life
    assert client.get(url).status_code == 403


def test_a_job_fails_fast_when_the_broker_is_down(demo, export_dir, mocker):
    from project.celery import app

    mocker.patch.object(app, "connection_for_write", side_effect=OSError("broker down"))
    client = api_client(demo.researcher)
    response = start_job(client, wave="2025", table="cells", file_format="csv")
    assert response.status_code == 202  # queued; the dispatch runs after the commit
    job = client.get(response.json()["status_url"]).json()
    assert job["status"] == "failed"
    assert "unreachable" in job["error"]
    assert job["download_url"] is None


def test_job_requests_are_checked(demo, export_dir, run_jobs_here):
    client = api_client(demo.researcher)
    assert start_job(client, wave="1999", table="cells", file_format="csv").status_code == 404
    assert start_job(client, wave="2025", table="experts", file_format="csv").status_code == 400
    assert start_job(client, wave="2025", table="cells", file_format="docx").status_code == 400
    assert client.get("/api/v1/export-jobs/" + "0" * 32 + "/").status_code == 404
    assert client.get("/api/v1/export-jobs/../etc/").status_code == 404


def test_the_task_is_idempotent_and_old_jobs_are_purged(demo, export_dir):
    from surveys.models import Wave

    with TestCase.captureOnCommitCallbacks(execute=False):
        job = exports.export_job_create(
            wave=Wave.objects.get(slug="2021"), table="ratings", file_format="dta", user=None
        )
    assert export_tasks.export_build(job["id"]) == "done"
    first = exports.export_job_file(job_id=job["id"])
    stamp = first.stat().st_mtime_ns
    assert export_tasks.export_build(job["id"]) == "done"
    assert exports.export_job_file(job_id=job["id"]).stat().st_mtime_ns == stamp

    folder = first.parent
    assert exports.export_jobs_purge() == 0
    old = time.time() - 2 * 24 * 3600
    os.utime(folder, (old, old))
    assert export_tasks.export_jobs_purge() == 1
    assert not folder.exists()
    assert exports.export_job_status(job_id=job["id"]) is None


def test_xlsx_row_limit_and_missing_results_are_client_errors(demo, export_dir, monkeypatch):
    from surveys.models import Wave

    client = api_client(demo.researcher)
    monkeypatch.setattr(exports.sources, "XLSX_MAX_ROWS", 10)
    direct = client.get("/api/v1/exports/2025/cells/download/", {"file_format": "xlsx"})
    assert direct.status_code == 400
    assert "Excel sheet holds at most" in direct.json()["detail"]
    job = start_job(client, wave="2025", table="cells", file_format="xlsx")
    assert job.status_code == 400
    Wave.objects.create(slug="fresh", title="Not aggregated yet")
    missing = client.get("/api/v1/exports/fresh/cells/download/")
    assert missing.status_code == 404
    assert "no complete aggregation run" in missing.json()["detail"]
    assert start_job(client, wave="fresh", table="cells", file_format="csv").status_code == 404
