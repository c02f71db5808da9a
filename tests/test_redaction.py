"""No token, e-mail or client address in log lines and error reports (project.redaction)."""

import io
import logging
import sys
from contextlib import contextmanager

import pytest
from django.core import mail
from django.test import Client
from django.views.debug import get_exception_reporter_class

from project.redaction import RedactingFilter, redact, redact_path
from tests.factories import survey_open

TOKEN = "Vg7I7YPUPWUHYxP3oJeDQhrfV0Zi7mMj8AdHhwWEAOs"
ADDRESS = "203.0.113.9"
# Here, far from the frames whose source lines a report shows.
NAME = "Ivan Petrov"
SESSION = "secret-session-id"


def test_redact_replaces_the_token_of_a_personal_link_wherever_it_stands():
    assert redact(f"Internal Server Error: /s/{TOKEN}/") == "Internal Server Error: /s/[token]/"
    assert redact(f"https://survey.example.org/s/{TOKEN}/b/3/autosave/") == (
        "https://survey.example.org/s/[token]/b/3/autosave/"
    )
    assert redact(f"GET /s/{TOKEN}?x=1") == "GET /s/[token]?x=1"
    assert redact(f"next=%2Fs%2F{TOKEN}%2Fb%2F2%2F") == "next=%2Fs%2F[token]%2Fb%2F2%2F"
    assert redact(f"'PATH_INFO': '/s/{TOKEN}/review/'") == "'PATH_INFO': '/s/[token]/review/'"
    assert redact("/admin/surveys/expert/12/change/") == "/admin/surveys/expert/12/change/"


def test_redact_replaces_a_bare_token_named_as_one():
    context = f"{{'token': '{TOKEN}', 'csrf_token': <SimpleLazyObject: '{TOKEN}'>}}"
    assert TOKEN not in redact(context)
    assert redact(f"token={TOKEN}") == "token=[token]"
    assert redact("token_hash") == "token_hash"


def test_redact_replaces_e_mail_addresses():
    assert redact("sent to Ivan.Petrov+x@mail.example.org.") == "sent to [e-mail]."


def test_redact_path_drops_the_query_string():
    assert redact_path(f"/s/{TOKEN}/?lang=ru") == "/s/[token]/"
    assert redact_path("/admin/surveys/expert/?q=Petrov") == "/admin/surveys/expert/"


def test_the_filter_rewrites_message_arguments_and_traceback():
    try:
        raise RuntimeError(f"failed at /s/{TOKEN}/ for ivan@example.org")
    except RuntimeError:
        record = logging.getLogger("test").makeRecord(
            "test", logging.ERROR, __file__, 1, "%s: %s", ("Error", f"/s/{TOKEN}/"), sys.exc_info()
        )
    assert RedactingFilter().filter(record) is True
    formatted = logging.Formatter().format(record)
    assert TOKEN not in formatted and "ivan@example.org" not in formatted
    assert "Error: /s/[token]/" in formatted
    assert "RuntimeError: failed at /s/[token]/ for [e-mail]" in formatted


@contextmanager
def captured(logger_name: str):
    """What the configured console handler of ``logger_name`` writes (settings.LOGGING)."""
    handler = next(h for h in logging.getLogger(logger_name).handlers if h.name == "console")
    buffer = io.StringIO()
    previous = handler.setStream(buffer)
    try:
        yield buffer
    finally:
        handler.setStream(previous)


@pytest.mark.django_db
def test_a_server_error_on_a_link_is_logged_and_reported_without_the_token(
    reference_data, settings, mocker
):
    settings.ADMINS = [("Admin", "admin@example.org")]
    settings.DEBUG = False
    survey = survey_open(language="en")
    mocker.patch(
        "surveys.views.invitation_resolve",
        side_effect=RuntimeError(f"failed at /s/{survey.token}/ for ivan@example.org"),
    )
    client = Client(raise_request_exception=False, REMOTE_ADDR=ADDRESS)
    client.cookies["sessionid"] = SESSION
    with captured("django.request") as log:
        response = client.get(f"{survey.url}?lang=ru&q=ivan@example.org", HTTP_REFERER=survey.url)
    assert response.status_code == 500
    assert "Internal Server Error: /s/[token]/" in log.getvalue()
    assert "RuntimeError: failed at /s/[token]/ for [e-mail]" in log.getvalue()
    (report,) = mail.outbox
    assert "/s/[token]/" in report.subject
    text = report.subject + report.body
    for secret in (survey.token, "ivan@example.org", ADDRESS, SESSION):
        assert secret not in log.getvalue()
        assert secret not in text


@pytest.mark.django_db
def test_a_csrf_failure_on_a_link_is_logged_without_the_token(reference_data):
    survey = survey_open(language="en")
    with captured("") as log:
        response = Client(enforce_csrf_checks=True).post(survey.url, {"consent": "on"})
    assert response.status_code == 403
    assert "Forbidden (CSRF cookie not set.): /s/[token]/" in log.getvalue()
    assert survey.token not in log.getvalue()


def _fail(*, token: str, email: str) -> None:
    raise ValueError("boom")


def test_the_report_of_a_request_hides_addresses_cookies_and_parameter_values(rf):
    request = rf.post(
        f"/s/{TOKEN}/b/1/?next=/s/{TOKEN}/",
        {"comment": f"{NAME} thinks", "v-1": "4"},
        REMOTE_ADDR=ADDRESS,
        HTTP_X_FORWARDED_FOR=ADDRESS,
        HTTP_REFERER=f"https://survey.example.org/s/{TOKEN}/",
    )
    request.COOKIES["sessionid"] = SESSION
    try:
        _fail(token=TOKEN.lower(), email="ivan@example.org")
    except ValueError:
        reporter = get_exception_reporter_class(request)(request, *sys.exc_info())
    for report in (reporter.get_traceback_text(), reporter.get_traceback_html()):
        assert "/s/[token]/" in report
        for secret in (TOKEN, TOKEN.lower(), ADDRESS, NAME, SESSION, "ivan@example.org"):
            assert secret not in report
