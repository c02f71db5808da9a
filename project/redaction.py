"""Nothing secret in logs and error reports: invitation tokens, e-mail addresses, client addresses.

An expert's personal link ``/s/<token>/…`` is the key to their answers, so no log line, error
report or access log may hold it. ``redact`` replaces the token segment of such a path (also
URL-encoded, as in a ``next=`` parameter), and the value of anything named like a token
(``'token': '…'`` in a template context), by ``[token]``, and every e-mail address by
``[e-mail]``. It is applied by:

- ``RedactingFilter``, a logging filter on every handler of ``settings.LOGGING`` (and of the
  Celery worker's handlers, ``project.celery``): it rewrites a record's message and traceback
  text before any handler formats it, so ``Internal Server Error: /s/<token>/`` and
  ``Forbidden (CSRF cookie not set.): /s/<token>/…`` are logged as ``/s/[token]/``;
- ``RedactingExceptionReporter`` (``DEFAULT_EXCEPTION_REPORTER``), whose text and HTML reports
  (the e-mails of ``mail_admins``) are redacted as a whole, and whose filter
  (``DEFAULT_EXCEPTION_REPORTER_FILTER``) leaves out client addresses, cookies and the values
  of GET and POST parameters (an expert's answers, an admin's search for a name);
- ``project.gunicorn_logging``, the access and error log of the documented gunicorn setup.

Names cannot be recognised in free text: no code logs them (``Expert.__str__`` leaves the name
out), and ``tests/faults/test_log_secrets.py`` greps every log of a demo session for them.
"""

import logging
import re

from django.views.debug import ExceptionReporter, SafeExceptionReporterFilter

TOKEN = "[token]"
EMAIL = "[e-mail]"
# The segment after /s/ in a path, a full URL or a Referer; and the same URL-encoded.
TOKEN_PATH = re.compile(r"(/s/)[^/?#&\s\"'<>\\]+")
TOKEN_PATH_ENCODED = re.compile(r"(%2Fs%2F)(?:(?!%2F)[^/?#&\s\"'<>\\])+", re.IGNORECASE)
# A bare token as the value of a key or variable named like one (a template context dumped by
# django.template at DEBUG level: {'token': '…'}; token=…).
TOKEN_VALUE = re.compile(
    r"""(\b\w*token\w*['"]?\s*[:=]\s*(?:<[^>]*:\s*)?['"]?)[A-Za-z0-9_\-]{16,}""",
    re.IGNORECASE,
)
EMAIL_ADDRESS = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[A-Za-z]{2,}")
SENSITIVE_VARIABLE = re.compile(
    "token|link|url|path|e_?mail|name|affiliation|comment|secret|key|pass", re.IGNORECASE
)
# Request headers and WSGI variables that hold a client's address.
ADDRESS_META = {
    "REMOTE_ADDR",
    "REMOTE_HOST",
    "HTTP_X_FORWARDED_FOR",
    "HTTP_X_REAL_IP",
    "HTTP_FORWARDED",
    "HTTP_CLIENT_IP",
    "HTTP_TRUE_CLIENT_IP",
    "HTTP_CF_CONNECTING_IP",
}


def redact(text: str) -> str:
    """``text`` without invitation tokens and e-mail addresses."""
    text = TOKEN_PATH.sub(rf"\g<1>{TOKEN}", text)
    text = TOKEN_PATH_ENCODED.sub(rf"\g<1>{TOKEN}", text)
    text = TOKEN_VALUE.sub(rf"\g<1>{TOKEN}", text)
    return EMAIL_ADDRESS.sub(EMAIL, text)


def redact_path(path: str) -> str:
    """A path or URL redacted, without its query string (which may hold a name or an e-mail)."""
    return redact(path.split("?", 1)[0])


class RedactingFilter(logging.Filter):
    """Rewrite a record's message and traceback text redacted; never drops a record.

    On a handler, so that it applies to records propagated from any logger (a filter on a
    logger sees only the records logged on that very logger).
    """

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: keep it as it is, redacted
            message = str(record.msg)
        record.msg = redact(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


class RedactingExceptionReporterFilter(SafeExceptionReporterFilter):
    """Django's filter, plus: no client address, no cookie, no parameter value, and no local
    variable named like a token, an identity or a secret (the HTML report lists them).

    Settings whose name holds ``URL`` are hidden too: a broker or cache URL may carry a
    password.
    """

    hidden_settings = re.compile(
        "API|AUTH|TOKEN|KEY|SECRET|PASS|SIGNATURE|HTTP_COOKIE|URL", flags=re.IGNORECASE
    )

    def get_safe_request_meta(self, request) -> dict:
        if not hasattr(request, "META"):
            return {}
        return {
            key: self.cleansed_substitute
            if key in ADDRESS_META
            else self.cleanse_setting(key, redact(value) if isinstance(value, str) else value)
            for key, value in request.META.items()
        }

    def get_traceback_frame_variables(self, request, tb_frame) -> list:
        return [
            (name, self.cleansed_substitute if SENSITIVE_VARIABLE.search(name) else value)
            for name, value in super().get_traceback_frame_variables(request, tb_frame)
        ]

    def get_safe_cookies(self, request) -> dict:
        return {name: self.cleansed_substitute for name in getattr(request, "COOKIES", {})}

    def get_post_parameters(self, request) -> dict:
        if request is None:
            return {}
        return {name: self.cleansed_substitute for name in request.POST}


class RedactingExceptionReporter(ExceptionReporter):
    """Django's report (the e-mail of ``mail_admins``, DEBUG's error page) redacted as a whole."""

    def get_traceback_data(self) -> dict:
        data = super().get_traceback_data()
        if self.request is not None:
            substitute = self.filter.cleansed_substitute
            data["request_GET_items"] = [(name, substitute) for name in self.request.GET]
        return data

    def get_traceback_html(self) -> str:
        return redact(super().get_traceback_html())

    def get_traceback_text(self) -> str:
        return redact(super().get_traceback_text())
