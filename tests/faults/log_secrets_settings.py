"""Production settings (project.settings.base, DEBUG off) for tests/faults/test_log_secrets.py,
plus one test-only middleware that answers a request with a 500 on demand."""

from project.settings.base import *  # noqa: F403
from project.settings.base import MIDDLEWARE

MIDDLEWARE = [*MIDDLEWARE, "tests.faults.log_secrets_app.FailOnDemandMiddleware"]
