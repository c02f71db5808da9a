"""A production configuration for tests that start the real servers: DEBUG off, keys of the
test's own, a shared file cache, and a database, broker, static root and logs under the test's
folder. Used by tests/test_production_serving.py and tests/faults/test_log_secrets.py."""

import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import requests
from cryptography.fernet import Fernet

from tests.worker import ROOT

VENV_BIN = Path(sys.executable).parent
# The documented configuration (project/gunicorn.conf.py), serving project.wsgi.
GUNICORN = [str(VENV_BIN / "gunicorn"), "-c", "project/gunicorn.conf.py"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def production_env(tmp_path: Path, port: int, **overrides: str) -> dict[str, str]:
    """The environment of a production deployment on 127.0.0.1:``port``, over plain HTTP."""
    inherited = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(
            ("DJANGO_", "DATABASE_URL", "CELERY_", "CACHE_URL", "EMAIL_", "IDENTITY_", "SITE_URL")
        )
    }
    return {
        **inherited,
        "DJANGO_SETTINGS_MODULE": "project.settings.base",
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        # Plain HTTP on loopback: no HTTPS redirect, no secure-only cookies, no HSTS.
        "DJANGO_SECURE_SSL_REDIRECT": "false",
        "DJANGO_SECURE_COOKIES": "false",
        "DJANGO_SECURE_HSTS_SECONDS": "0",
        "SITE_URL": f"http://127.0.0.1:{port}",
        "IDENTITY_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "IDENTITY_BLIND_INDEX_KEY": secrets.token_urlsafe(32),
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "CACHE_URL": f"filecache://{tmp_path / 'cache'}",
        "PROJECT_VAR_DIR": str(tmp_path / "var"),
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_WORKERS": "1",
        "GUNICORN_THREADS": "4",
        "GUNICORN_ACCESS_LOG": str(tmp_path / "logs" / "gunicorn-access.log"),
        "GUNICORN_ERROR_LOG": str(tmp_path / "logs" / "gunicorn-error.log"),
        "PYTHONUNBUFFERED": "1",
        **overrides,
    }


def manage(env: dict, logs: Path, name: str, *args: str) -> str:
    """Run a management command; its logs (stderr) go to ``logs``, its output is returned."""
    logs.mkdir(parents=True, exist_ok=True)
    with open(logs / f"{name}.log", "w") as log:
        done = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
            timeout=180,
        )
    assert done.returncode == 0, (logs / f"{name}.log").read_text()
    return done.stdout


def deploy(env: dict, logs: Path) -> None:
    """The steps of an installation or upgrade (docs/deploy.md): static files, then migrations."""
    manage(env, logs, "collectstatic", "collectstatic", "--noinput", "-v0")
    manage(env, logs, "migrate", "migrate", "--noinput", "-v0")


def wait_for(condition: Callable[[], object], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def served(url: str) -> bool:
    try:
        return requests.get(url, timeout=5).status_code < 500
    except requests.RequestException:
        return False
