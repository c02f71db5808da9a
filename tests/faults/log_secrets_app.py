"""Test-only pieces of tests/faults/test_log_secrets.py, run inside gunicorn and Celery.

- ``FailOnDemandMiddleware``: a request with the header ``X-Test-Fail`` raises an error whose
  message holds the path, so that a 500 on a personal link is logged and reported;
- ``CapturingEmailBackend``: writes every message to ``MAIL_CAPTURE_DIR`` (one ``.eml`` file
  each), so that the test reads the invitation and the error reports of ``mail_admins``.
"""

import os
import uuid
from collections.abc import Callable
from pathlib import Path

from django.core.mail.backends.base import BaseEmailBackend
from django.http import HttpRequest, HttpResponse


class FailOnDemandMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if "x-test-fail" in request.headers:
            raise RuntimeError(f"Failure on demand at {request.get_full_path()}")
        return self.get_response(request)


class CapturingEmailBackend(BaseEmailBackend):
    def send_messages(self, email_messages) -> int:
        folder = Path(os.environ["MAIL_CAPTURE_DIR"])
        folder.mkdir(parents=True, exist_ok=True)
        for message in email_messages:
            (folder / f"{uuid.uuid4().hex}.eml").write_bytes(message.message().as_bytes())
        return len(email_messages)
