"""A real Celery worker process picks up an export job (the task module is in CELERY_IMPORTS)
and exports committed ratings outside any transaction."""

import shutil
import time
import zipfile
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import User

from aggregation import exports
from aggregation.services import aggregation_run_wave
from tests.worker import celery_worker

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_a_worker_builds_a_queued_export_job(rated_wave):
    aggregation_run_wave(wave_id=rated_wave.pk)
    user = User.objects.create_user("job-owner")
    with celery_worker():
        job = exports.export_job_create(
            wave=rated_wave, table="ratings", file_format="sav", user=user
        )
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            status = exports.export_job_status(job_id=job["id"])
            if status["status"] in ("done", "failed"):
                break
            time.sleep(0.3)
    try:
        assert status["status"] == "done", status
        assert status["rows"] == 60  # 5 experts a panel, 6 items each (conftest)
        with zipfile.ZipFile(exports.export_job_file(job_id=job["id"])) as bundle:
            assert f"{rated_wave.slug}_ratings.sav" in bundle.namelist()
    finally:
        shutil.rmtree(Path(settings.EXPORT_DIR) / job["id"], ignore_errors=True)
