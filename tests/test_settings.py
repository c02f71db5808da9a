"""Settings come from the environment; production refuses to start without its secrets."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def django_check(**env_overrides: str) -> subprocess.CompletedProcess:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "DATABASE_URL", "CELERY_", "IDENTITY_"))
    }
    env.update(env_overrides)
    return subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_embedded_default_needs_nothing_set():
    result = django_check()
    assert result.returncode == 0, result.stderr


def test_production_without_secret_key_is_a_clear_error():
    result = django_check(DJANGO_DEBUG="false", DJANGO_ALLOWED_HOSTS="survey.example.org")
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off" in result.stderr


def test_production_without_allowed_hosts_is_a_clear_error():
    result = django_check(DJANGO_DEBUG="false", DJANGO_SECRET_KEY="x" * 50)
    assert result.returncode != 0
    assert "DJANGO_ALLOWED_HOSTS must be set when DJANGO_DEBUG is off" in result.stderr


def test_database_and_broker_urls_switch_backends():
    code = (
        "from django.conf import settings;"
        "print(settings.DATABASES['default']['ENGINE'], settings.CELERY_BROKER_URL)"
    )
    env = {
        **os.environ,
        "DATABASE_URL": "postgres://u@db.example.org:5432/survey",
        "CELERY_BROKER_URL": "redis://cache.example.org:6379/0",
        "DJANGO_SETTINGS_MODULE": "project.settings.base",
    }
    result = subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.stdout.split() == [
        "django.db.backends.postgresql",
        "redis://cache.example.org:6379/0",
    ]
