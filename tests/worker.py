"""Start real ``celery worker`` and ``celery beat`` processes against the test database and
broker."""

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent


def test_database_url() -> str:
    """A DATABASE_URL for the database the tests run on (the test database, not the real one)."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    user = db.get("USER") or ""
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    host = db.get("HOST") or "127.0.0.1"
    port = f":{db['PORT']}" if db.get("PORT") else ""
    return f"postgres://{user}{password}@{host}{port}/{db['NAME']}"


def _process_env(settings_env: dict[str, str]) -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "project.settings.test",
        "DATABASE_URL": test_database_url(),
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "CELERY_TASK_DEFAULT_QUEUE": settings.CELERY_TASK_DEFAULT_QUEUE,
        **settings_env,
    }


def _stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()


@contextmanager
def celery_worker(
    *, ready_timeout: float = 60.0, log_name: str = "test-worker.log", **settings_env: str
) -> Iterator[subprocess.Popen]:
    """Run a worker (solo pool) on the tests' queue until the block ends.

    Keyword arguments become environment variables of the worker (settings read from the
    environment, e.g. ``AGGREGATION_SPLIT_MIN_RATINGS="0"``). Its log is
    ``$PROJECT_VAR_DIR/<log_name>``: a test running two workers at once names the second's.
    """
    env = _process_env(settings_env)
    log_path = Path(settings.VAR_DIR) / log_name
    with open(log_path, "w") as log:
        worker = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "project",
                "worker",
                "--pool=solo",
                "--loglevel=INFO",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                f"--hostname={Path(log_name).stem}@%h",
                "-Q",
                settings.CELERY_TASK_DEFAULT_QUEUE,
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + ready_timeout
        while "ready." not in log_path.read_text():
            if worker.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"Celery worker did not start:\n{log_path.read_text()}")
            time.sleep(0.2)
        yield worker
    finally:
        _stop(worker)


@contextmanager
def celery_beat(*, ready_timeout: float = 60.0) -> Iterator[subprocess.Popen]:
    """Run ``celery beat`` with the project's schedule (``CELERY_BEAT_SCHEDULE``), sending to
    the tests' queue. Its schedule starts afresh: each entry first runs one interval after
    beat starts. Its log is ``$PROJECT_VAR_DIR/test-beat.log``."""
    log_path = Path(settings.VAR_DIR) / "test-beat.log"
    with open(log_path, "w") as log:
        beat = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "project",
                "beat",
                "--loglevel=INFO",
                # in memory: nothing carried over from an earlier run
                "--scheduler=celery.beat:Scheduler",
            ],
            cwd=ROOT,
            env=_process_env({}),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + ready_timeout
        while "beat: Starting..." not in log_path.read_text():
            if beat.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"Celery beat did not start:\n{log_path.read_text()}")
            time.sleep(0.2)
        yield beat
    finally:
        _stop(beat)
