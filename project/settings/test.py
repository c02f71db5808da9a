"""Test settings: the base settings with fast hashing, in-memory e-mail and test-only queues.

The SQLite test database is a file, not memory, so that a real Celery worker process started
by a test sees the same data; the filesystem broker uses folders of its own.

CI runs the suite in two processes at once (pytest-xdist, ``bin/test -n 2``). Each test process
(``PYTEST_XDIST_WORKER``: gw0, gw1, ...) keeps its files in a var folder of its own (test
database, broker folders, worker logs, exports), prefixes its Redis broker keys and its cache
keys, and so never meets the other: the Celery workers and beat a test starts inherit the
variable and read the same settings.
"""

import os

# The tests run on the development configuration (embedded database, development keys), as
# bin/run does; pytest-django still turns DEBUG off inside each test. Subprocesses inherit it.
os.environ.setdefault("DJANGO_DEBUG", "true")

from project.settings.base import *  # noqa: F403
from project.settings.base import CACHES, CELERY_BROKER_URL, DATABASES, STATIC_ROOT, VAR_DIR, env

TEST_PROCESS = os.environ.get("PYTEST_XDIST_WORKER", "")
if TEST_PROCESS:
    VAR_DIR = VAR_DIR / TEST_PROCESS
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    EXPORT_DIR = VAR_DIR / "exports"

# pytest-django turns DEBUG off, so WhiteNoise looks for the collected files; the tests serve
# the source folders (StaticFilesStorage), and an empty folder keeps WhiteNoise quiet.
STATIC_ROOT.mkdir(parents=True, exist_ok=True)

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test-db.sqlite3")}

# On a shared Redis cache (CACHE_URL, CI's second pass) the keys of one test process are its
# own, so that the link and login counters of two processes never add up. Tests that count
# reset the cache around themselves (cache.clear()), which removes only that process's keys.
if CACHES["default"]["BACKEND"].endswith("RedisCache"):
    CACHES["default"]["KEY_PREFIX"] = f"test-{os.getpid()}"
    CACHES["default"]["BACKEND"] = "tests.redis_cache.TestProcessRedisCache"

CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_TASK_DEFAULT_QUEUE", default="tests")
if CELERY_BROKER_URL.startswith("filesystem://"):
    _queue_dir = VAR_DIR / "test-celery" / "queue"
    _processed_dir = VAR_DIR / "test-celery" / "processed"
    for _folder in (_queue_dir, _processed_dir):
        _folder.mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_queue_dir),
        "data_folder_out": str(_queue_dir),
        "processed_folder": str(_processed_dir),
        "control_folder": str(_processed_dir.parent / "control"),
        "store_processed": False,
    }
    CELERY_RESULT_BACKEND = f"file://{VAR_DIR / 'test-celery'}"
AGGREGATION_DEBOUNCE_SECONDS = 0.0

if CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    CELERY_BROKER_TRANSPORT_OPTIONS = {}
    # Every key of the broker (queues, unacknowledged messages and their index) carries the
    # test process's name: one process's workers never take or restore the other's tasks.
    if TEST_PROCESS:
        CELERY_BROKER_TRANSPORT_OPTIONS["global_keyprefix"] = f"{TEST_PROCESS}:"
    # Fault tests (tests/faults) start workers with this variable. On Redis an unacknowledged
    # task comes back after the visibility timeout (default: one hour), swept every second here.
    _visibility_timeout = env.float("CELERY_TEST_VISIBILITY_TIMEOUT", default=0)
    if _visibility_timeout:
        CELERY_BROKER_TRANSPORT_OPTIONS |= {
            "visibility_timeout": _visibility_timeout,
            "unacked_restore_interval": 1,
            "unacked_restore_throttle": 1,
        }
# A worker started with AGGREGATION_TEST_DELAY_SECONDS computes aggregations that slowly
# (tests/faults/slow_aggregation.py), so that a test can kill it in the middle of a run.
if env.float("AGGREGATION_TEST_DELAY_SECONDS", default=0):
    CELERY_IMPORTS = [*CELERY_IMPORTS, "tests.faults.slow_aggregation"]  # noqa: F405

# The ordinal IRT's fast fit (several seconds per wave) is left out of the runs that the demo-
# based tests aggregate again and again; the tests of the estimators' storage, pages, API and
# exports turn it on (tests.conftest.all_estimators), and test_estimator_runs aggregates the
# whole demo with every estimator.
AGGREGATION_CORRECTED_ESTIMATORS = ("aldrich_mckelvey", "vignette_cscores")
