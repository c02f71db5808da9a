"""Settings come from the environment; production refuses to start without its secrets and
with any unsafe configuration (project.checks)."""

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from project.settings.base import (
    INSECURE_DEVELOPMENT_BLIND_INDEX_KEY,
    INSECURE_DEVELOPMENT_IDENTITY_KEY,
    INSECURE_DEVELOPMENT_SECRET_KEY,
)

ROOT = Path(__file__).resolve().parent.parent


def _environment(**env_overrides: str) -> dict[str, str]:
    """This environment with only ``env_overrides`` of the project's variables."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(
            ("DJANGO_", "DATABASE_URL", "CELERY_", "IDENTITY_", "EMAIL_", "CACHE_URL", "SITE_URL")
        )
    }
    env.update(env_overrides)
    return env


def django_check(*options: str, **env_overrides: str) -> subprocess.CompletedProcess:
    """``manage.py check [options]`` with only ``env_overrides`` of the project's variables."""
    env = _environment(**env_overrides)
    return subprocess.run(
        [sys.executable, "manage.py", "check", *options],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


# ``manage.py check`` with each of several option lists, one after the other in one process
# (the settings are the same for all): prints the outcome of each, as JSON, on one line.
CHECKS_IN_ONE_PROCESS = """
import json, sys
import django
from django.core.management import call_command
from django.core.management.base import SystemCheckError
django.setup()
outcomes = []
for options in json.loads(sys.argv[1]):
    try:
        call_command("check", *options)
    except SystemCheckError as error:
        outcomes.append({"failed": True, "message": str(error)})
    else:
        outcomes.append({"failed": False, "message": ""})
print(json.dumps(outcomes))
"""


def django_checks(option_lists: list[list[str]], **env_overrides: str) -> list[dict]:
    """The outcome of ``manage.py check`` with each of ``option_lists`` under the same
    configuration (``env_overrides``, as in ``django_check``), from one process."""
    env = _environment(**env_overrides, DJANGO_SETTINGS_MODULE="project.settings.base")
    result = subprocess.run(
        [sys.executable, "-c", CHECKS_IN_ONE_PROCESS, json.dumps(option_lists)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.splitlines()[-1])


def production(**overrides: str) -> dict[str, str]:
    """A correct production configuration, with ``overrides``."""
    return {
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(60),
        "DJANGO_ALLOWED_HOSTS": "survey.example.org",
        "SITE_URL": "https://survey.example.org",
        "IDENTITY_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "IDENTITY_BLIND_INDEX_KEY": secrets.token_urlsafe(32),
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "CACHE_URL": "redis://cache.example.org:6379/2",
        **overrides,
    }


@pytest.fixture(scope="module")
def static_root(tmp_path_factory) -> str:
    """The static files of a deployment, collected once for the checks of this module."""
    folder = tmp_path_factory.mktemp("static")
    env = {
        **os.environ,
        **production(STATIC_ROOT=str(folder), PROJECT_VAR_DIR=str(folder.parent)),
    }
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
        cwd=ROOT,
        env={key: value for key, value in env.items() if key != "DATABASE_URL"},
        check=True,
        timeout=180,
    )
    return str(folder)


def test_the_demo_configuration_needs_only_debug_on():
    result = django_check(DJANGO_DEBUG="true")
    assert result.returncode == 0, result.stderr


def test_debug_is_off_unless_turned_on():
    result = django_check()
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off" in result.stderr


def test_production_without_secret_key_is_a_clear_error():
    result = django_check(DJANGO_DEBUG="false", DJANGO_ALLOWED_HOSTS="survey.example.org")
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off" in result.stderr


def test_production_without_allowed_hosts_is_a_clear_error():
    result = django_check(DJANGO_DEBUG="false", DJANGO_SECRET_KEY="x" * 50)
    assert result.returncode != 0
    assert "DJANGO_ALLOWED_HOSTS must be set when DJANGO_DEBUG is off" in result.stderr


def test_a_correct_production_configuration_passes_check_deploy(tmp_path, static_root):
    result = django_check(
        "--deploy",
        "--fail-level",
        "WARNING",
        **production(PROJECT_VAR_DIR=str(tmp_path), STATIC_ROOT=static_root),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


UNSAFE = {
    "console e-mail": (
        {"EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend"},
        "project.E001",
    ),
    "file e-mail": (
        {"EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend"},
        "project.E001",
    ),
    "no e-mail backend set (console)": ({"EMAIL_BACKEND": ""}, "project.E001"),
    "no SITE_URL": ({"SITE_URL": ""}, "project.E002"),
    "development secret key": (
        {"DJANGO_SECRET_KEY": INSECURE_DEVELOPMENT_SECRET_KEY},
        "project.E003",
    ),
    "placeholder secret key": (
        {"DJANGO_SECRET_KEY": "change-me-to-50-random-characters"},
        "project.E003",
    ),
    "development identity key among the old keys": (
        {
            "IDENTITY_ENCRYPTION_KEYS": (
                f"{Fernet.generate_key().decode()},{INSECURE_DEVELOPMENT_IDENTITY_KEY}"
            )
        },
        "project.E003",
    ),
    "development blind-index key": (
        {"IDENTITY_BLIND_INDEX_KEY": INSECURE_DEVELOPMENT_BLIND_INDEX_KEY},
        "project.E003",
    ),
    "placeholder blind-index key": (
        {"IDENTITY_BLIND_INDEX_KEY": "change-me-to-32-or-more-random-characters"},
        "project.E003",
    ),
    "per-process cache (the default)": ({"CACHE_URL": ""}, "project.E004"),
    "dummy cache": ({"CACHE_URL": "dummycache://"}, "project.E004"),
}


@pytest.mark.parametrize("unsafe", UNSAFE.values(), ids=UNSAFE.keys())
def test_an_unsafe_production_configuration_fails_check_deploy(unsafe, tmp_path, static_root):
    overrides, check_id = unsafe
    settings_env = production(PROJECT_VAR_DIR=str(tmp_path), STATIC_ROOT=static_root, **overrides)
    settings_env = {key: value for key, value in settings_env.items() if value}
    option_lists = [["--deploy"], []]
    for options, outcome in zip(
        option_lists, django_checks(option_lists, **settings_env), strict=True
    ):
        assert outcome["failed"], options
        assert check_id in outcome["message"], outcome["message"]
        assert outcome["message"].count("project.E0") == 1, outcome["message"]


def test_gunicorn_refuses_an_unsafe_configuration(tmp_path, static_root):
    code = "import project.wsgi"
    env = {
        **production(PROJECT_VAR_DIR=str(tmp_path), STATIC_ROOT=static_root),
        "CACHE_URL": "locmemcache://",
    }
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "project.settings.base", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "project.E004: The cache is per process (LocMemCache)" in result.stderr


def test_static_files_not_collected_stop_the_web_server_but_not_collectstatic(tmp_path):
    settings_env = production(PROJECT_VAR_DIR=str(tmp_path))
    deploy_check = django_check("--deploy", **settings_env)
    assert deploy_check.returncode != 0
    assert "(project.E005) The static files are not collected" in deploy_check.stderr
    # Plain checks (those of migrate and collectstatic) leave it to the deployment check.
    assert django_check(**settings_env).returncode == 0
    web = subprocess.run(
        [sys.executable, "-c", "import project.wsgi"],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "project.settings.base", **settings_env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert web.returncode != 0
    assert "project.E005: The static files are not collected" in web.stderr


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
