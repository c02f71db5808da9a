"""Large exports as jobs: a job's status, its task's dispatch and body, its file behind a
signed, expiring link, and the purge of old jobs (the Celery tasks are in
``aggregation.export_tasks``).
"""

import json
import os
import shutil
import time
import uuid
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.utils import timezone

from aggregation.exports.audit import export_audit
from aggregation.exports.sources import FORMATS, ExportError, export_source, xlsx_check
from aggregation.exports.writers import write_bundle
from surveys.models import Wave

# Jobs ----------------------------------------------------------------------------------------
#
# A job is a folder ``EXPORT_DIR/<job id>/`` holding ``status.json`` and, once done, the
# bundle. The status file is replaced atomically; the task is idempotent (a finished job is
# left alone, an interrupted one is built again), so acks_late is safe.

JOB_STATUSES = ("queued", "running", "done", "failed")
RELEASE_TABLE = "release"  # a job of this "table" builds the wave's release bundle
LINK_SALT = "aggregation.exports.download"


def _job_dir(job_id: str) -> Path:
    if not (len(job_id) == 32 and all(c in "0123456789abcdef" for c in job_id)):
        raise ExportError("Not an export job id.")
    return Path(settings.EXPORT_DIR) / job_id


def _status_write(job_id: str, status: dict[str, Any]) -> None:
    folder = _job_dir(job_id)
    temporary = folder / "status.json.tmp"
    temporary.write_text(json.dumps(status, indent=2), encoding="utf-8")
    os.replace(temporary, folder / "status.json")


def export_job_status(*, job_id: str) -> dict[str, Any] | None:
    """The job's status (``queued``, ``running``, ``done``, ``failed``), or None if unknown."""
    try:
        path = _job_dir(job_id) / "status.json"
    except ExportError:
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def _job_update(job_id: str, **changes: Any) -> dict[str, Any]:
    status = export_job_status(job_id=job_id) or {}
    status.update(changes)
    _status_write(job_id, status)
    return status


def export_job_create(
    *,
    wave: Wave,
    table: str,
    file_format: str,
    user,
    run_id: int | None = None,
    estimator: str = "plain_means",
) -> dict[str, Any]:
    """Check the request, write the job's status and queue its task once the caller commits.

    ``table`` ``release`` is the wave's whole release bundle (``aggregation.release``);
    ``run_id`` pins the export to that complete run of the wave."""
    if table == RELEASE_TABLE:
        from aggregation.release import release_check

        source = release_check(wave=wave, run_id=run_id)
        file_format = "zip"
    else:
        if file_format not in FORMATS:
            raise ExportError(
                f"Unknown format {file_format!r}; choose one of {', '.join(FORMATS)}."
            )
        source = export_source(wave=wave, table=table, run_id=run_id, estimator=estimator)
    if file_format == "xlsx":
        xlsx_check(source)
    job_id = uuid.uuid4().hex
    _job_dir(job_id).mkdir(parents=True)
    status = {
        "id": job_id,
        "user_id": getattr(user, "pk", None),
        "wave_id": wave.pk,
        "wave": wave.slug,
        "table": table,
        "format": file_format,
        "estimator": estimator,
        "run": run_id,
        "status": "queued",
        "rows": source.rows,
        "created_at": timezone.now().isoformat(),
        "started_at": None,
        "finished_at": None,
        "file": None,
        "size": None,
        "error": "",
    }
    _status_write(job_id, status)
    export_audit(
        user=user, source=source, file_format=file_format, action="export.create", job=job_id
    )
    transaction.on_commit(lambda: export_job_dispatch(job_id=job_id))
    return status


def export_job_dispatch(*, job_id: str) -> bool:
    """Publish the job's task; a broker that is down fails the job at once, with a reason."""
    from aggregation.export_tasks import export_build
    from project.celery import app

    try:
        with app.connection_for_write() as connection:
            connection.ensure_connection(
                max_retries=1, timeout=settings.CELERY_BROKER_CONNECTION_TIMEOUT
            )
            export_build.apply_async(args=[job_id], connection=connection, retry=False)
    except Exception as error:  # any broker failure
        _job_update(
            job_id,
            status="failed",
            finished_at=timezone.now().isoformat(),
            error=f"The task queue is unreachable ({type(error).__name__}); try again later.",
        )
        return False
    return True


def export_job_run(*, job_id: str) -> dict[str, Any]:
    """Build a job's bundle (the task's body). Idempotent: a finished job is left as it is."""
    status = export_job_status(job_id=job_id)
    if status is None:
        raise ExportError("No such export job.")
    folder = _job_dir(job_id)
    if status["status"] == "done" and status.get("file") and (folder / status["file"]).exists():
        return status
    status = _job_update(job_id, status="running", started_at=timezone.now().isoformat())
    try:
        wave = Wave.objects.get(pk=status["wave_id"])
        if status["table"] == RELEASE_TABLE:
            from aggregation.release import release_name, release_write

            name = f"{release_name(wave)}.zip"
            partial = folder / (name + ".partial")
            source = release_write(wave=wave, run_id=status.get("run"), path=partial)
        else:
            source = export_source(
                wave=wave,
                table=status["table"],
                run_id=status.get("run"),
                estimator=status.get("estimator", "plain_means"),
            )
            name = f"{wave.slug}_{status['table']}_{status['format']}.zip"
            partial = folder / (name + ".partial")
            write_bundle(source, status["format"], partial)
        os.replace(partial, folder / name)
    except Exception as error:
        # The reason names the error's kind and, for our own errors, their message: no data.
        reason = str(error) if isinstance(error, ExportError) else type(error).__name__
        return _job_update(
            job_id, status="failed", finished_at=timezone.now().isoformat(), error=reason
        )
    return _job_update(
        job_id,
        status="done",
        rows=source.rows,
        file=name,
        size=(folder / name).stat().st_size,
        finished_at=timezone.now().isoformat(),
        error="",
    )


def export_job_file(*, job_id: str) -> Path | None:
    status = export_job_status(job_id=job_id)
    if not status or status["status"] != "done" or not status.get("file"):
        return None
    path = _job_dir(job_id) / status["file"]
    return path if path.exists() else None


def export_link_sign(*, job_id: str, user_id: int | None) -> str:
    """A signature for the job's download link, valid ``EXPORT_LINK_MAX_AGE_SECONDS``."""
    signed = signing.TimestampSigner(salt=LINK_SALT).sign(f"{job_id}:{user_id}")
    return signed.split(":", 2)[2]


def export_link_valid(*, job_id: str, user_id: int | None, signature: str) -> bool:
    try:
        signing.TimestampSigner(salt=LINK_SALT).unsign(
            f"{job_id}:{user_id}:{signature}", max_age=settings.EXPORT_LINK_MAX_AGE_SECONDS
        )
    except signing.BadSignature:  # includes SignatureExpired
        return False
    return True


def export_jobs_purge(*, older_than_seconds: float | None = None) -> int:
    """Delete job folders older than ``EXPORT_RETENTION_SECONDS``; returns how many."""
    if older_than_seconds is None:
        older_than_seconds = settings.EXPORT_RETENTION_SECONDS
    root = Path(settings.EXPORT_DIR)
    if not root.exists():
        return 0
    deadline = time.time() - older_than_seconds
    removed = 0
    for folder in root.iterdir():
        if folder.is_dir() and folder.stat().st_mtime < deadline:
            shutil.rmtree(folder, ignore_errors=True)
            removed += 1
    return removed
