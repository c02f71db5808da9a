"""The configuration fails closed: with DEBUG off, these system checks refuse to start.

They are errors of ``manage.py check`` (and so of ``check --deploy``, ``migrate`` and
``runserver``); ``project.wsgi``, ``project.asgi`` and the Celery worker (``project.celery``)
run them at start-up too (``refuse_unsafe_configuration``), so gunicorn and the workers
refuse as well. Each names what to set. With DEBUG on (the demo, the tests) they say nothing.

- ``project.E001``: the console or file e-mail backend writes invitation links, names and
  e-mail addresses to a log or a folder;
- ``project.E002``: without ``SITE_URL`` invitation links would point at the development
  server;
- ``project.E003``: a development key of ``project.settings.base`` or a placeholder of
  ``.env.example`` (``change-me…``) as ``SECRET_KEY``, an identity key or the blind-index key;
- ``project.E004``: a per-process cache (local memory, dummy) counts the link rate limits and
  the login throttle per process, so several web processes multiply every limit;
- ``project.E005`` (``check --deploy`` and the web entry points only, so that it never stands
  in the way of ``collectstatic`` itself): the static files have not been collected, so every
  page would fail on its first style sheet.
"""

from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.staticfiles.storage import ManifestFilesMixin, staticfiles_storage
from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.core.mail.backends.console import EmailBackend as ConsoleBackend
from django.core.mail.backends.filebased import EmailBackend as FileBackend
from django.utils.module_loading import import_string

PLACEHOLDER_PREFIX = "change-me"
PER_PROCESS_CACHES = (
    "django.core.cache.backends.locmem.LocMemCache",
    "django.core.cache.backends.dummy.DummyCache",
)


def development_keys() -> set[str]:
    """The fixed keys that project.settings.base falls back to with DEBUG on."""
    return {
        settings.INSECURE_DEVELOPMENT_SECRET_KEY,
        settings.INSECURE_DEVELOPMENT_IDENTITY_KEY,
        settings.INSECURE_DEVELOPMENT_BLIND_INDEX_KEY,
    }


def _unsafe_key(value: str) -> bool:
    return (
        value in development_keys()
        or value.lower().startswith(PLACEHOLDER_PREFIX)
        or value.startswith("django-insecure-")
    )


@checks.register(checks.Tags.security)
def email_backend_check(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    if settings.DEBUG:
        return []
    try:
        backend = import_string(settings.EMAIL_BACKEND)
    except ImportError:
        return [
            checks.Error(
                f"EMAIL_BACKEND {settings.EMAIL_BACKEND!r} cannot be imported.", id="project.E001"
            )
        ]
    if issubclass(backend, (ConsoleBackend, FileBackend)):
        return [
            checks.Error(
                f"EMAIL_BACKEND is {settings.EMAIL_BACKEND!r}: with DEBUG off, invitation links, "
                "names and e-mail addresses must not be written to a log or a folder.",
                hint="Set EMAIL_BACKEND=django.core.mail.backends.smtp.EmailBackend and "
                "EMAIL_HOST (see .env.example).",
                id="project.E001",
            )
        ]
    return []


@checks.register(checks.Tags.security)
def site_url_check(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    if settings.DEBUG:
        return []
    url = urlsplit(settings.SITE_URL or "")
    if url.scheme in ("http", "https") and url.netloc:
        return []
    return [
        checks.Error(
            "SITE_URL must be set when DJANGO_DEBUG is off: it is the base of invitation links.",
            hint="Set SITE_URL=https://survey.example.org (the address experts open).",
            id="project.E002",
        )
    ]


@checks.register(checks.Tags.security)
def development_keys_check(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    if settings.DEBUG:
        return []
    keys = {
        "DJANGO_SECRET_KEY": [settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS],
        "IDENTITY_ENCRYPTION_KEYS": list(settings.IDENTITY_ENCRYPTION_KEYS),
        "IDENTITY_BLIND_INDEX_KEY": [settings.IDENTITY_BLIND_INDEX_KEY],
    }
    return [
        checks.Error(
            f"{name} is a development key or a placeholder of .env.example: anyone who has "
            "the source code has it.",
            hint="Make a key of your own; .env.example shows how.",
            id="project.E003",
        )
        for name, values in keys.items()
        if any(_unsafe_key(value) for value in values)
    ]


@checks.register(checks.Tags.security)
def shared_cache_check(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    if settings.DEBUG:
        return []
    backend = settings.CACHES["default"]["BACKEND"]
    if backend not in PER_PROCESS_CACHES:
        return []
    return [
        checks.Error(
            f"The cache is per process ({backend.rsplit('.', 1)[-1]}): each web process would "
            "count the link rate limits and the login throttle on its own.",
            hint="Set CACHE_URL to a cache every process shares, e.g. redis://host:6379/2.",
            id="project.E004",
        )
    ]


@checks.register(checks.Tags.staticfiles, deploy=True)
def static_files_collected_check(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    if settings.DEBUG or not isinstance(staticfiles_storage, ManifestFilesMixin):
        return []
    manifest = Path(settings.STATIC_ROOT) / staticfiles_storage.manifest_name
    if manifest.is_file():
        return []
    return [
        checks.Error(
            f"The static files are not collected: {manifest} is missing, so every page would "
            "fail on its first style sheet.",
            hint="Run `manage.py collectstatic --noinput` after each upgrade (docs/deploy.md).",
            id="project.E005",
        )
    ]


def refuse_unsafe_configuration(*, serving: bool = False) -> None:
    """Raise ``ImproperlyConfigured`` with every error of these checks (none with DEBUG on).

    ``serving``: a web entry point, which also needs the collected static files.
    """
    startup_checks = [
        email_backend_check,
        site_url_check,
        development_keys_check,
        shared_cache_check,
    ]
    if serving:
        startup_checks.append(static_files_collected_check)
    errors = [message for check in startup_checks for message in check() if message.is_serious()]
    if errors:
        raise ImproperlyConfigured("\n".join(f"{error.id}: {error.msg}" for error in errors))
