"""Settings read from the environment.

DEBUG is off unless ``DJANGO_DEBUG`` turns it on (``bin/run`` and the tests do). With DEBUG
on and nothing else set, the project runs embedded: an SQLite file and Celery's
``filesystem://`` broker, both under the git-ignored ``var/`` folder, with development keys.
``DATABASE_URL`` and ``CELERY_BROKER_URL`` switch to PostgreSQL and Redis/RabbitMQ.
With DEBUG off, ``DJANGO_SECRET_KEY``, ``DJANGO_ALLOWED_HOSTS``, ``IDENTITY_ENCRYPTION_KEYS``
and ``IDENTITY_BLIND_INDEX_KEY`` are required here, and the system checks of
``project.checks`` refuse development keys, ``.env.example``'s placeholders, a console or file
e-mail backend, a missing ``SITE_URL`` and a per-process cache.
"""

import os
from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
env_file = BASE_DIR / ".env"
if env_file.exists():
    environ.Env.read_env(str(env_file))
VAR_DIR = Path(env.str("PROJECT_VAR_DIR", default=str(BASE_DIR / "var")))
# The ordinal IRT's compiled XLA programs, kept between fits of the same data (the full
# posterior runs its chains and chunks as separate programs: compiled once, loaded after).
os.environ.setdefault("JAX_COMPILATION_CACHE_DIR", str(VAR_DIR / "jax-cache"))

DEBUG = env.bool("DJANGO_DEBUG", default=False)


def _required_in_production(name: str, fallback: str) -> str:
    """Return an environment variable that production must set explicitly."""
    value = env.str(name, default="")
    if value:
        return value
    if DEBUG:
        return fallback
    raise ImproperlyConfigured(f"{name} must be set when DJANGO_DEBUG is off (see .env.example).")


INSECURE_DEVELOPMENT_SECRET_KEY = "insecure-local-development-key-never-use-in-production"
SECRET_KEY = _required_in_production("DJANGO_SECRET_KEY", INSECURE_DEVELOPMENT_SECRET_KEY)
ALLOWED_HOSTS = [
    host.strip()
    for host in _required_in_production("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",")
    if host.strip()
]
# The base of invitation links; required with DEBUG off (project.checks).
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000" if DEBUG else "")

# Experts' names, e-mails and affiliations are encrypted at rest (surveys.identity_crypto;
# docs/reliability.md, "Encryption at rest"). IDENTITY_ENCRYPTION_KEYS: comma-separated Fernet
# keys, newest first; the first encrypts, all decrypt. IDENTITY_BLIND_INDEX_KEY: the HMAC key of
# the e-mail lookups and the unique (panel, e-mail) constraint; keep it stable (changing it
# needs `manage.py rotate_identity_keys` at once). The fallbacks are fixed development keys.
INSECURE_DEVELOPMENT_IDENTITY_KEY = "aW5zZWN1cmUtZGV2ZWxvcG1lbnQta2V5LU5PVC1GT1I="
INSECURE_DEVELOPMENT_BLIND_INDEX_KEY = "insecure-development-blind-index-key-never-in-production"


def _identity_encryption_keys() -> list[str]:
    from cryptography.fernet import Fernet

    value = _required_in_production("IDENTITY_ENCRYPTION_KEYS", INSECURE_DEVELOPMENT_IDENTITY_KEY)
    keys = [key.strip() for key in value.split(",") if key.strip()]
    if not keys:
        raise ImproperlyConfigured("IDENTITY_ENCRYPTION_KEYS holds no key.")
    for number, key in enumerate(keys, start=1):
        try:
            Fernet(key)
        except ValueError as error:
            raise ImproperlyConfigured(
                f"IDENTITY_ENCRYPTION_KEYS: key {number} is not a Fernet key (32 url-safe "
                "base64-encoded bytes); make one with `python -c 'from cryptography.fernet "
                "import Fernet; print(Fernet.generate_key().decode())'`."
            ) from error
    return keys


IDENTITY_ENCRYPTION_KEYS = _identity_encryption_keys()
IDENTITY_BLIND_INDEX_KEY = _required_in_production(
    "IDENTITY_BLIND_INDEX_KEY", INSECURE_DEVELOPMENT_BLIND_INDEX_KEY
)
if len(IDENTITY_BLIND_INDEX_KEY) < 32:
    raise ImproperlyConfigured(
        "IDENTITY_BLIND_INDEX_KEY must have at least 32 characters; make one with "
        "`python -c 'import secrets; print(secrets.token_urlsafe(32))'`."
    )

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "knox",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "surveys",
    "aggregation",
    "reports",
    "project.apps.ProjectConfig",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Static files (CSS, JS) straight from the process, before sessions or the database.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "project.middleware.ContentSecurityPolicyMiddleware",
    "project.middleware.PermissionsPolicyMiddleware",
    # Errors under /api/ are JSON, Django's own pages included; inside the two above, so that
    # the JSON answer still gets their headers.
    "project.middleware.ApiJsonErrorsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "project.middleware.InvitationLinkGuardMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "surveys.second_factor.SecondFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "surveys.middleware_errors.DatabaseUnavailableMiddleware",
]

ROOT_URLCONF = "project.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "surveys.context_processors.synthetic_data",
            ],
        },
    },
]

WSGI_APPLICATION = "project.wsgi.application"
ASGI_APPLICATION = "project.asgi.application"

DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web server and the Celery worker use the file at the same time.
    DATABASES["default"].setdefault("OPTIONS", {})
    DATABASES["default"]["OPTIONS"].update(
        {"timeout": 20, "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"}
    )

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Languages: the interface is complete in all six (tests/test_translations.py); a string not
# yet translated falls back to Russian, then English (surveys/middleware.py).
LANGUAGE_CODE = "en"
LANGUAGES = [
    ("en", _("English")),
    ("ru", _("Russian")),
    ("kk", _("Kazakh")),
    ("hy", _("Armenian")),
    ("ky", _("Kyrgyz")),
    ("tg", _("Tajik")),
]
LANGUAGE_FALLBACKS = ("ru", "en")
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# Static files are served by WhiteNoise (docs/deploy.md): in production from STATIC_ROOT, filled
# by `manage.py collectstatic`, under content-hashed names cached for a year, each with a gzip
# copy made at collection; with DEBUG on, straight from the source folders.
STATIC_URL = "static/"
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(VAR_DIR / "static")))
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "project.static_storage.GzipManifestStaticFilesStorage"
        )
    },
}

# Celery: the embedded default needs no server; any broker URL Celery knows works.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
CELERY_RESULT_BACKEND = env.str(
    "CELERY_RESULT_BACKEND", default=f"file://{VAR_DIR / 'celery' / 'results'}"
)
CELERY_BROKER_TRANSPORT_OPTIONS = {}
if CELERY_BROKER_URL.startswith("filesystem://"):
    _queue_dir = VAR_DIR / "celery" / "queue"
    _processed_dir = VAR_DIR / "celery" / "processed"
    for _folder in (_queue_dir, _processed_dir, VAR_DIR / "celery" / "results"):
        _folder.mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_queue_dir),
        "data_folder_out": str(_queue_dir),
        "processed_folder": str(_processed_dir),
        "control_folder": str(_processed_dir.parent / "control"),
        "store_processed": False,
    }
elif CELERY_RESULT_BACKEND.startswith("file://"):
    (VAR_DIR / "celery" / "results").mkdir(parents=True, exist_ok=True)
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 30 * 60
CELERY_TASK_SOFT_TIME_LIMIT = 25 * 60
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A submission must never wait on a broker that is down: publishing gives up fast.
CELERY_BROKER_CONNECTION_TIMEOUT = env.float("CELERY_BROKER_CONNECTION_TIMEOUT", default=2.0)
CELERY_TASK_PUBLISH_RETRY = False
# Task modules beside the autodiscovered ``tasks`` modules.
CELERY_IMPORTS = ["aggregation.export_tasks"]

EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="survey@localhost")

# Logging: no request lines with client addresses; the application logs what it does. Every
# handler redacts invitation tokens and e-mail addresses (project.redaction); so do the error
# reports mailed to ADMINS (DJANGO_ADMINS: comma-separated addresses) when DEBUG is off.
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO").upper()
ADMINS = [("Admin", address) for address in env.list("DJANGO_ADMINS", default=[])]
SERVER_EMAIL = DEFAULT_FROM_EMAIL
DEFAULT_EXCEPTION_REPORTER = "project.redaction.RedactingExceptionReporter"
DEFAULT_EXCEPTION_REPORTER_FILTER = "project.redaction.RedactingExceptionReporterFilter"
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "redact": {"()": "project.redaction.RedactingFilter"},
        "require_debug_false": {"()": "django.utils.log.RequireDebugFalse"},
    },
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["redact"]},
        "mail_admins": {
            "class": "django.utils.log.AdminEmailHandler",
            "level": "ERROR",
            "filters": ["require_debug_false", "redact"],
        },
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        # Replaces the handlers of Django's own "django" logger (which do not redact); the
        # security loggers (django.security.*) propagate here, then to the root's console.
        "django": {"handlers": ["mail_admins"], "level": LOG_LEVEL},
        "django.server": {"handlers": [], "level": "ERROR", "propagate": False},
        # At DEBUG level the template engine logs whole contexts (tokens, form values).
        "django.template": {"level": "INFO"},
        # Errors; the warnings of 4xx answers (every scanner's 404) only at DEBUG level.
        "django.request": {
            "handlers": ["console", "mail_admins"],
            "level": LOG_LEVEL if LOG_LEVEL == "DEBUG" else "ERROR",
            "propagate": False,
        },
    },
}

if not DEBUG:
    SESSION_COOKIE_SECURE = env.bool("DJANGO_SECURE_COOKIES", default=True)
    CSRF_COOKIE_SECURE = env.bool("DJANGO_SECURE_COOKIES", default=True)
    SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
# No page tells another where it came from (the questionnaire's links hold their token); the
# admin's pages relax it to same-origin in a <meta> tag for Django's CSRF check.
SECURE_REFERRER_POLICY = "no-referrer"
# Powerful browser features no page uses, turned off for every page (project.middleware).
PERMISSIONS_POLICY = ", ".join(
    f"{feature}=()"
    for feature in (
        "accelerometer",
        "autoplay",
        "camera",
        "display-capture",
        "geolocation",
        "gyroscope",
        "magnetometer",
        "microphone",
        "midi",
        "payment",
        "usb",
    )
)
SESSION_COOKIE_HTTPONLY = True
# A session ends 8 hours after its sign-in, however busy (surveys.second_factor fixes the
# expiry date when the user signs in).
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=8 * 60 * 60)

# Users who can see experts' identities (superusers, surveys.view_expert_identity) confirm
# their sign-in with a TOTP code (django-otp; docs/admin.md, "Second factor"). Only a local
# demo with DEBUG on may turn that off (bin/run does).
ADMIN_REQUIRE_TOTP = env.bool("ADMIN_REQUIRE_TOTP", default=True)
if not ADMIN_REQUIRE_TOTP and not DEBUG:
    raise ImproperlyConfigured("ADMIN_REQUIRE_TOTP may be turned off only with DJANGO_DEBUG on.")
OTP_TOTP_ISSUER = env.str("OTP_TOTP_ISSUER", default="Role survey")

# Content-Security-Policy of every response without one of its own (project.middleware).
# The admin's and reports' templates use <style> blocks and inline SVG: inline styles only.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "frame-ancestors 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "object-src 'none'",
    ]
)
# The API reference pages (drf-spectacular's Swagger UI and Redoc, for signed-in users) start
# with an inline script; Redoc renders in a blob: worker. Nothing else runs inline scripts.
CONTENT_SECURITY_POLICY_PATHS = {
    "/api/v1/docs/": CONTENT_SECURITY_POLICY + "; script-src 'self' 'unsafe-inline'",
    "/api/v1/redoc/": CONTENT_SECURITY_POLICY
    + "; script-src 'self' 'unsafe-inline'; worker-src 'self' blob:",
}
# Requests per invitation link (per token hash) and window; more get a 429 page.
INVITATION_LINK_RATE_LIMIT = env.int("INVITATION_LINK_RATE_LIMIT", default=120)
INVITATION_LINK_RATE_WINDOW_SECONDS = env.int("INVITATION_LINK_RATE_WINDOW_SECONDS", default=60)
# Reverse proxies of our own in front of the web server (project.client_address): 0 = the
# rate limits count per REMOTE_ADDR and ignore X-Forwarded-For; N = per the Nth address from
# the right of X-Forwarded-For. Addresses are only hashed into cache keys, never stored.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
# Failed admin logins per username within the window before further attempts are refused,
# and failed logins from one client address (any user names) within the same window.
ADMIN_LOGIN_MAX_FAILURES = env.int("ADMIN_LOGIN_MAX_FAILURES", default=5)
ADMIN_LOGIN_MAX_FAILURES_PER_ADDRESS = env.int("ADMIN_LOGIN_MAX_FAILURES_PER_ADDRESS", default=30)
ADMIN_LOGIN_LOCKOUT_SECONDS = env.int("ADMIN_LOGIN_LOCKOUT_SECONDS", default=15 * 60)
AUTHENTICATION_BACKENDS = ["surveys.login_throttle.ThrottledModelBackend"]
# Django's cache holds those counters (and the API's throttle). The embedded default is
# per process: with several web processes each counts alone. Production sets CACHE_URL to a
# Redis database (redis://host:6379/2) so that every process shares one count.
CACHES = {"default": env.cache_url("CACHE_URL", default="locmemcache://")}
if CACHES["default"]["BACKEND"].endswith("RedisCache"):
    # A cache that is down or stuck must not hold a page: give up within a second (the
    # counters then let the request through, see project.middleware).
    CACHES["default"].setdefault("OPTIONS", {})
    CACHES["default"]["OPTIONS"].setdefault("socket_connect_timeout", 1.0)
    CACHES["default"]["OPTIONS"].setdefault("socket_timeout", 1.0)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "knox.auth.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    # Every API view also names the model permissions it needs (surveys.api.permissions).
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_FILTER_BACKENDS": ["surveys.api.filtering.StrictFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "surveys.api.pagination.ReferencePagination",
    "DEFAULT_SCHEMA_CLASS": "surveys.api.schema.StrictAutoSchema",
    "EXCEPTION_HANDLER": "surveys.api.exceptions.api_exception_handler",
    "DEFAULT_THROTTLE_RATES": {"api_token": env.str("API_TOKEN_THROTTLE", default="20/minute")},
}
# API tokens (django-rest-knox): only a SHA-512 digest is stored; each token expires
# API_TOKEN_TTL_DAYS after it was issued and is never extended by use (docs/api.md).
REST_KNOX = {
    "TOKEN_TTL": timedelta(days=env.int("API_TOKEN_TTL_DAYS", default=30)),
    "AUTO_REFRESH": False,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Role survey API",
    "DESCRIPTION": "Aggregates and anonymised raw ratings of the role-conflict expert survey. "
    "See docs/api.md.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# Exports: files of export jobs live under EXPORT_DIR; their signed download links expire.
EXPORT_DIR = VAR_DIR / "exports"
EXPORT_LINK_MAX_AGE_SECONDS = env.int("EXPORT_LINK_MAX_AGE_SECONDS", default=3600)
EXPORT_RETENTION_SECONDS = env.int("EXPORT_RETENTION_SECONDS", default=24 * 3600)
EXPORT_SYNC_MAX_ROWS = env.int("EXPORT_SYNC_MAX_ROWS", default=100_000)
# Submission dates in raw-rating exports and the API: coarsened to a month (or week, day,
# none), and given only where at least EXPORT_MIN_GROUP_SIZE responses of a wave and panel
# share the date. Smaller groups are "suppress"ed (their dates left empty, the metadata says
# how many) or make the export "refuse". See aggregation/exports/disclosure.py, docs/api.md.
EXPORT_DATE_PRECISION = env.str("EXPORT_DATE_PRECISION", default="month")
EXPORT_MIN_GROUP_SIZE = env.int("EXPORT_MIN_GROUP_SIZE", default=5)
EXPORT_SMALL_GROUPS = env.str("EXPORT_SMALL_GROUPS", default="suppress")
if EXPORT_DATE_PRECISION not in ("month", "week", "day", "none"):
    raise ImproperlyConfigured("EXPORT_DATE_PRECISION must be month, week, day or none.")
if EXPORT_SMALL_GROUPS not in ("suppress", "refuse"):
    raise ImproperlyConfigured("EXPORT_SMALL_GROUPS must be suppress or refuse.")
if EXPORT_MIN_GROUP_SIZE < 1:
    raise ImproperlyConfigured("EXPORT_MIN_GROUP_SIZE must be at least 1.")
# Release bundles (manage.py release, docs/release.md): who the data set is cited as
# (CITATION.cff authors, separated by ";"), its licence (an SPDX identifier, e.g. CC-BY-4.0;
# empty: none stated) and the commit of the software when the checkout has no .git folder.
RELEASE_AUTHORS = [
    name.strip()
    for name in env.str("RELEASE_AUTHORS", default="Role survey project").split(";")
    if name.strip()
]
RELEASE_LICENSE = env.str("RELEASE_LICENSE", default="")
RELEASE_GIT_COMMIT = env.str("RELEASE_GIT_COMMIT", default="")

# Requests: the non-file part is bounded by DATA_UPLOAD_MAX_MEMORY_SIZE; each uploaded file
# by UPLOAD_MAX_BYTES (project/uploads.py: the first handler reads no further, every file
# field rejects the file with a message naming the limit). Files above
# FILE_UPLOAD_MAX_MEMORY_SIZE go to a temporary file, never above UPLOAD_MAX_BYTES.
DATA_UPLOAD_MAX_MEMORY_SIZE = 256 * 1024
DATA_UPLOAD_MAX_NUMBER_FIELDS = 2000
UPLOAD_MAX_BYTES = env.int("UPLOAD_MAX_BYTES", default=32 * 1024 * 1024)
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
FILE_UPLOAD_HANDLERS = [
    "project.uploads.UploadSizeLimitHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]

# Aggregation scheduling: submissions within the debounce window share one run; a request
# whose task has not run after the redispatch age is published again by the sweep.
AGGREGATION_DEBOUNCE_SECONDS = env.float("AGGREGATION_DEBOUNCE_SECONDS", default=10.0)
AGGREGATION_REDISPATCH_AFTER = env.float("AGGREGATION_REDISPATCH_AFTER", default=15 * 60)
# A running run holds a lease that its worker renews (aggregation.leases); the sweep below
# (beat, every minute) redoes a run whose lease ran out. A worker killed mid-run is thus
# detected within lease + sweep interval (30 + 60 s) and its run redone well within 2 minutes.
AGGREGATION_LEASE_SECONDS = env.float("AGGREGATION_LEASE_SECONDS", default=30.0)
AGGREGATION_LEASE_RENEW_SECONDS = env.float("AGGREGATION_LEASE_RENEW_SECONDS", default=10.0)
if not 0 < AGGREGATION_LEASE_RENEW_SECONDS <= AGGREGATION_LEASE_SECONDS / 2:
    raise ImproperlyConfigured(
        "AGGREGATION_LEASE_RENEW_SECONDS must be positive and at most half of "
        "AGGREGATION_LEASE_SECONDS, so that one missed renewal does not end a live run."
    )
# The covering index on rating.item (surveys migration 0006) includes columns on PostgreSQL;
# SQLite has no INCLUDE and builds a plain index on item, which is all it needs.
SILENCED_SYSTEM_CHECKS = ["models.W040"]
# Waves with at least this many ratings are split by subject over several workers (a chord).
# The database does the heavy part (GROUP BY) in either case and a run over a million ratings
# takes well under a second in one task, so splitting pays only for very large waves.
AGGREGATION_SPLIT_MIN_RATINGS = env.int("AGGREGATION_SPLIT_MIN_RATINGS", default=10_000_000)
CELERY_BEAT_SCHEDULE = {
    # Publishes pending requests and redoes runs whose worker died (aggregation_sweep).
    "dispatch-pending-aggregations": {
        "task": "aggregation.tasks.dispatch_pending_aggregations",
        "schedule": 60.0,
    },
    "refresh-open-waves": {
        "task": "aggregation.tasks.refresh_open_waves",
        "schedule": 60.0 * 60,
    },
    "purge-expired-exports": {
        "task": "aggregation.export_tasks.export_jobs_purge",
        "schedule": 60.0 * 60,
    },
}

# Invitation e-mail: at most this many reminders per invitation, at least this many hours apart
# (and after the invitation itself).
INVITATION_MAX_REMINDERS = env.int("INVITATION_MAX_REMINDERS", default=3)
INVITATION_REMINDER_MIN_GAP_HOURS = env.float("INVITATION_REMINDER_MIN_GAP_HOURS", default=72)
