"""Celery tasks of export jobs: thin wrappers that take a job id and call ``aggregation.exports``.

Loaded by the worker through ``CELERY_IMPORTS`` (the autodiscovery only finds ``tasks``).
"""

from celery import shared_task

from aggregation import exports


@shared_task(acks_late=True, soft_time_limit=55 * 60, time_limit=60 * 60)
def export_build(job_id: str) -> str:
    """Build an export job's bundle; returns the job's final status. Idempotent."""
    return exports.export_job_run(job_id=job_id)["status"]


@shared_task(acks_late=True, soft_time_limit=270, time_limit=300)
def export_jobs_purge() -> int:
    """Delete export jobs older than ``EXPORT_RETENTION_SECONDS`` (periodic)."""
    return exports.export_jobs_purge()
