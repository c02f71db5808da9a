"""A demo expert session through gunicorn, logged at DEBUG level, leaves no token, name or
e-mail address in any log, error report or ``Referer``, and no client address anywhere.

Production settings (DEBUG off, real keys, a shared file cache, ``project.checks`` passing) on
a database and broker of the test's own; gunicorn started with the documented
``project/gunicorn.conf.py`` (access and error logs to files), a Celery worker, headless
Chromium. The session: an admin signs in and e-mails an invitation (the worker sends it); the
expert opens the link from that e-mail, consents, answers every page, reviews and submits;
a post without the CSRF cookie and a server error hit the link. Then every log file, every
error report that ``mail_admins`` sent and every request header of the pages' style sheets and
scripts is searched for every token, name and e-mail address of the demo.
"""

import email
import json
import re
import subprocess
import sys
import time
from email import policy
from pathlib import Path

import pytest
import requests

from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.production import GUNICORN, deploy, free_port, manage, production_env, served, wait_for
from tests.worker import ROOT

pytestmark = pytest.mark.browser

ADMIN_ADDRESS = "errors@example.net"
CLIENT_ADDRESS = "203.0.113.7"  # sent as X-Forwarded-For by every client of the test
CELERY = [sys.executable, "-m", "celery", "-A", "project"]


def log_test_env(tmp_path: Path, port: int) -> dict[str, str]:
    """Production, plus a test-only middleware that fails on demand, captured e-mail and
    logs at DEBUG level."""
    return production_env(
        tmp_path,
        port,
        DJANGO_SETTINGS_MODULE="tests.faults.log_secrets_settings",
        DJANGO_ADMINS=ADMIN_ADDRESS,
        EMAIL_BACKEND="tests.faults.log_secrets_app.CapturingEmailBackend",
        MAIL_CAPTURE_DIR=str(tmp_path / "mail"),
        LOG_LEVEL="DEBUG",
        # The script answers 154 items in well under a minute, one autosave per click: far
        # above a person's pace and the link's default rate limit.
        INVITATION_LINK_RATE_LIMIT="5000",
        GUNICORN_LOG_LEVEL="debug",
    )


# Every expert's identity, and an invitation of the open wave that was never e-mailed.
DEMO_FACTS = """
import json
from surveys.models import Expert, Invitation
print(json.dumps({
    "identities": [[e.name, e.email, e.affiliation] for e in Expert.objects.all()],
    "invitation": Invitation.objects.filter(wave__slug="2025", status="created")
    .order_by("pk").first().pk,
}))
"""


def messages(folder: Path) -> list[email.message.EmailMessage]:
    return [
        email.message_from_bytes(path.read_bytes(), policy=policy.default)
        for path in sorted(folder.glob("*.eml"))
    ]


def text_of(message: email.message.EmailMessage) -> str:
    parts = [str(message["Subject"]), str(message["To"])]
    parts += [part.get_content() for part in message.walk() if not part.is_multipart()]
    return "\n".join(parts)


def totp_code(otpauth_uri: str) -> str:
    """The current code of the device whose ``otpauth://`` URI ``totp_enrol`` printed."""
    import base64
    from urllib.parse import parse_qs, urlparse

    from django_otp.oath import TOTP

    secret = parse_qs(urlparse(otpauth_uri).query)["secret"][0]
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    return str(TOTP(key).token()).zfill(6)


def admin_sends_invitation(base: str, invitation_id: int, otpauth_uri: str) -> None:
    session = requests.Session()
    session.headers["X-Forwarded-For"] = CLIENT_ADDRESS
    session.get(f"{base}/admin/login/")
    signed_in = session.post(
        f"{base}/admin/login/?next=/admin/",
        data={
            "username": "admin",
            "password": "admin",
            "csrfmiddlewaretoken": session.cookies["csrftoken"],
        },
    )
    # The demo admin sees identities: the second step asks for a code of its authenticator.
    assert "/admin/second-factor/" in signed_in.url, signed_in.url
    verified = session.post(
        signed_in.url,
        data={
            "token": totp_code(otpauth_uri),
            "next": "/admin/",
            "csrfmiddlewaretoken": session.cookies["csrftoken"],
        },
    )
    assert verified.url.endswith("/admin/"), verified.url
    sent = session.post(
        f"{base}/admin/surveys/invitation/",
        data={
            "action": "send_invitations",
            "_selected_action": [str(invitation_id)],
            "confirm": "yes",
            "csrfmiddlewaretoken": session.cookies["csrftoken"],
        },
    )
    assert "1 e-mails queued." in sent.text


def expert_answers_everything(page, link: str) -> None:
    page.goto(link)
    page.locator("#consent").check()
    page.locator(".consent-form button[type=submit]").click()
    # The page's script sends its queue before it lets a form go: wait for the navigation.
    page.wait_for_url(re.compile(r"/b/\d+/$"))
    while "/b/" in page.url:
        labels = page.locator("label[for^='v-'][for$='-5']")
        for index in range(labels.count()):
            # A click event on the label itself: the page's fixed status banner may cover
            # the lowest row where a pointer click would land.
            labels.nth(index).dispatch_event("click")
        page.wait_for_load_state("networkidle")  # the autosaves
        # The last page has "Review and submit" instead of "Next".
        review = page.locator("button[name=action][value=review]")
        current = page.url
        (review if review.count() else page.locator("button[name=action][value=next]")).click()
        page.wait_for_url(lambda url, current=current: url != current)
    assert page.url.endswith("/review/"), page.url
    page.locator("form.actions button[type=submit]").click()
    page.wait_for_url(re.compile(r"/thanks/$"))


def test_a_demo_session_leaves_no_secret_in_logs_reports_or_headers(tmp_path):
    if not CHROMIUM.exists():
        pytest.skip(f"Chromium is not installed at {CHROMIUM}; bin/test installs it.")
    from playwright.sync_api import sync_playwright

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    logs = tmp_path / "logs"
    logs.mkdir()
    env = log_test_env(tmp_path, port)

    started = time.monotonic()
    deploy(env, logs)
    demo_links = manage(env, logs, "seed_demo", "seed_demo", "--base-url", base)
    facts = json.loads(manage(env, logs, "shell", "shell", "--no-imports", "-c", DEMO_FACTS))
    otpauth_uri = manage(env, logs, "totp_enrol", "totp_enrol", "admin").strip().splitlines()[0]
    identities, invitation_id = facts["identities"], facts["invitation"]
    print(f"demo built in {time.monotonic() - started:.1f} s")

    processes = []
    try:
        worker_log = open(logs / "celery-worker.log", "w")  # noqa: SIM115 - closed below
        processes.append(
            subprocess.Popen(
                [*CELERY, "worker", "--pool=solo", "--loglevel=DEBUG", "--without-mingle"],
                cwd=ROOT,
                env=env,
                stdout=worker_log,
                stderr=subprocess.STDOUT,
            )
        )
        server_log = open(logs / "gunicorn-output.log", "w")  # noqa: SIM115 - closed below
        processes.append(
            subprocess.Popen(
                GUNICORN,
                cwd=ROOT,
                env=env,
                stdout=server_log,
                stderr=subprocess.STDOUT,
            )
        )
        wait_for(lambda: served(f"{base}/admin/login/"), 120, "gunicorn")
        wait_for(lambda: "ready." in (logs / "celery-worker.log").read_text(), 120, "the worker")

        # An admin e-mails one invitation; the expert's link is in that e-mail only.
        admin_sends_invitation(base, invitation_id, otpauth_uri)
        wait_for(lambda: messages(tmp_path / "mail"), 60, "the invitation e-mail")
        (invitation,) = messages(tmp_path / "mail")
        link = re.search(rf"{re.escape(base)}/s/[^/\s]+/", text_of(invitation))[0]
        token = link.rstrip("/").rsplit("/", 1)[1]

        print(f"invitation e-mailed at {time.monotonic() - started:.1f} s")
        # A post without the CSRF cookie and a server error, both on the link.
        hostile = {"X-Forwarded-For": CLIENT_ADDRESS, "Referer": link}
        assert requests.post(link, data={"consent": "on"}, headers=hostile).status_code == 403
        failing = {**hostile, "X-Test-Fail": "1"}
        assert requests.get(f"{link}?lang=ru", headers=failing).status_code == 500

        # The expert's whole session in a browser; every request it makes is kept.
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
            )
            context = browser.new_context(extra_http_headers={"X-Forwarded-For": CLIENT_ADDRESS})
            requested = []
            context.on("request", lambda request: requested.append(request))
            expert_answers_everything(context.new_page(), link)
            expert_assets = [
                (request.url, request.all_headers())
                for request in requested
                if request.resource_type in ("stylesheet", "script")
            ]
            for _url, headers in expert_assets:
                headers.pop("x-forwarded-for", None)  # the test's own, searched for in the logs
            # The control: the admin's pages (same-origin) do send a Referer to the site.
            requested.clear()
            context.new_page().goto(f"{base}/admin/login/")
            admin_assets = [
                request.all_headers()
                for request in requested
                if request.resource_type == "stylesheet"
            ]
            browser.close()
        print(f"session done at {time.monotonic() - started:.1f} s")
        wait_for(lambda: len(messages(tmp_path / "mail")) >= 2, 30, "the error report of the 500")
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=30)
        worker_log.close()
        server_log.close()

    # Chromium lists a Referer it did not send as an empty one.
    assert expert_assets and any(headers.get("referer") for headers in admin_assets)
    for url, headers in expert_assets:
        assert not headers.get("referer"), url
    reports = [
        message for message in messages(tmp_path / "mail") if ADMIN_ADDRESS in str(message["To"])
    ]
    assert any("Internal Server Error: /s/[token]/" in str(m["Subject"]) for m in reports)

    logged = {path.name: path.read_text() for path in sorted(logs.glob("*.log"))}
    searched = {
        **logged,
        **{f"report {n}": text_of(report) for n, report in enumerate(reports)},
        "expert's style sheet and script requests": json.dumps(expert_assets),
    }
    assert "Forbidden (CSRF cookie not set.): /s/[token]/" in "".join(logged.values())
    assert "Internal Server Error: /s/[token]/" in logged["gunicorn-output.log"]
    assert '"GET /s/[token]/b/' in logged["gunicorn-access.log"]
    assert f"Invitation {invitation_id} e-mailed." in logged["celery-worker.log"]

    tokens = [token, *re.findall(r"/s/([^/\s]+)/", demo_links)]
    secrets_ = [
        *tokens,
        *(value for identity in identities for value in identity if value),
        CLIENT_ADDRESS,
    ]
    assert len(identities) > 50 and len(tokens) > 5
    leaks = [
        (where, secret) for where, text in searched.items() for secret in secrets_ if secret in text
    ]
    assert not leaks, leaks
