"""Security settings and guards: the Content-Security-Policy, admin login
throttling, the rate limit of invitation links, and no client address anywhere."""

import json
import logging
import os
import re
import secrets
import subprocess
import sys

import pytest
from django.apps import apps
from django.conf import settings
from django.contrib.auth.models import User
from django.core.cache import cache
from django.db import models
from django.test import Client
from django.urls import reverse

from tests.api.demo import demo_module
from tests.conftest import login_with_second_factor
from tests.factories import survey_open
from tests.surveys.test_questionnaire import consent, fill
from tests.worker import ROOT

pytestmark = pytest.mark.django_db

REPORT_PAGES = [
    "/admin/reports/comparison/",
    "/admin/reports/overview/",
    "/admin/reports/dyad/",
    "/admin/reports/trends/",
    "/admin/",
]
API_DOCS = ["/api/v1/docs/", "/api/v1/redoc/"]
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>\s*\S", re.IGNORECASE)
EVENT_HANDLER = re.compile(r"<[^>]+\son[a-z]+\s*=", re.IGNORECASE)
EXTERNAL = re.compile(r"""(?:src|href|action)\s*=\s*["']?(?:https?:)?//""", re.IGNORECASE)


@pytest.fixture(autouse=True)
def empty_cache():
    cache.clear()
    yield
    cache.clear()


# Content-Security-Policy ---------------------------------------------------------------------


def test_every_response_carries_a_content_security_policy(client, reference_data):
    survey = survey_open(language="en")
    pages = {
        "questionnaire": client.get(survey.url),
        "unknown link": client.get("/s/" + "A" * 43 + "/"),
        "no such page": client.get("/no/such/page/"),
        "admin login": client.get("/admin/login/"),
        "api": client.get("/api/v1/"),
    }
    for name, page in pages.items():
        policy = page.headers.get("Content-Security-Policy", "")
        assert "default-src 'self'" in policy, name
        assert "frame-ancestors 'none'" in policy, name
        assert "object-src 'none'" in policy, name
    # The questionnaire keeps its own, stricter policy.
    assert "style-src 'self';" in pages["questionnaire"]["Content-Security-Policy"]
    assert "base-uri 'self'" in pages["admin login"]["Content-Security-Policy"]
    assert "form-action 'self'" in pages["admin login"]["Content-Security-Policy"]


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    with demo_module(django_db_blocker) as users:
        yield users


def test_admin_reports_and_api_docs_render_within_the_policy(client, demo):
    """The policy allows no inline script, no event handler attribute and nothing from
    another origin: the pages must not need any (inline styles are allowed)."""
    login_with_second_factor(client, demo.admin)
    for url in REPORT_PAGES:
        page = client.get(url, follow=True)
        assert page.status_code == 200, url
        html = page.content.decode()
        assert "script-src" not in page["Content-Security-Policy"], url
        assert not INLINE_SCRIPT.search(html), (url, INLINE_SCRIPT.search(html))
        assert not EVENT_HANDLER.search(html), (url, EVENT_HANDLER.search(html))
        assert not EXTERNAL.search(html), (url, EXTERNAL.search(html))
    # The API reference pages start with an inline script: their paths allow that, and only
    # that (they still load nothing from elsewhere and cannot be framed).
    for url in API_DOCS:
        page = client.get(url)
        assert page.status_code == 200, url
        policy = page["Content-Security-Policy"]
        assert "script-src 'self' 'unsafe-inline'" in policy, url
        assert "frame-ancestors 'none'" in policy, url
        assert not EXTERNAL.search(page.content.decode()), url


# Admin login throttling ----------------------------------------------------------------------


def _sign_in(client: Client, username: str, password: str):
    return client.post("/admin/login/?next=/admin/", {"username": username, "password": password})


def test_admin_login_is_refused_after_repeated_failures(client, settings):
    settings.ADMIN_LOGIN_MAX_FAILURES = 3
    User.objects.create_superuser("chief", "chief@example.org", "right-password")
    User.objects.create_superuser("deputy", "deputy@example.org", "right-password")
    for _attempt in range(3):
        page = _sign_in(client, "chief", "wrong")
        assert page.status_code == 200
        assert "Too many failed sign-ins" not in page.content.decode()

    page = _sign_in(client, "chief", "right-password")  # even the right password now
    assert page.status_code == 200, "no session while the user name is blocked"
    assert "Too many failed sign-ins for this user name" in page.content.decode()
    assert "_auth_user_id" not in client.session
    page = _sign_in(client, "CHIEF ", "right-password")
    assert "Too many failed sign-ins" in page.content.decode(), "same name, other spelling"

    # Other user names are not affected; the block ends with its window.
    assert _sign_in(Client(), "deputy", "right-password").status_code == 302
    cache.clear()
    assert _sign_in(client, "chief", "right-password").status_code == 302


def test_successful_login_clears_earlier_failures(client, settings):
    settings.ADMIN_LOGIN_MAX_FAILURES = 3
    User.objects.create_superuser("chief", "chief@example.org", "right-password")
    for _round in range(3):
        for _attempt in range(2):
            _sign_in(client, "chief", "wrong")
        assert _sign_in(Client(), "chief", "right-password").status_code == 302


def test_sign_in_is_refused_while_the_cache_is_down(client, mocker, caplog):
    User.objects.create_superuser("chief", "chief@example.org", "right-password")
    mocker.patch(
        "surveys.login_throttle.cache.get", side_effect=ConnectionError("cache unreachable")
    )
    page = _sign_in(client, "chief", "right-password")
    assert page.status_code == 200
    assert "Sign-in is unavailable for a moment" in page.content.decode()
    assert "_auth_user_id" not in client.session, "no count, no sign-in"
    assert "cache unavailable (ConnectionError)" in caplog.text


def test_a_forged_forwarded_for_does_not_escape_the_address_limit(settings):
    """With no trusted proxy, failures count per REMOTE_ADDR whatever X-Forwarded-For says."""
    settings.TRUSTED_PROXY_COUNT = 0
    settings.ADMIN_LOGIN_MAX_FAILURES_PER_ADDRESS = 3
    User.objects.create_superuser("chief", "chief@example.org", "right-password")
    for number in range(3):
        forger = Client(REMOTE_ADDR=CLIENT_ADDRESS, HTTP_X_FORWARDED_FOR=f"198.51.100.{number}")
        assert "Too many" not in _sign_in(forger, f"user-{number}", "wrong").content.decode()
    forger = Client(REMOTE_ADDR=CLIENT_ADDRESS, HTTP_X_FORWARDED_FOR="198.51.100.99")
    page = _sign_in(forger, "chief", "right-password")
    assert "Too many failed sign-ins from your network" in page.content.decode()
    assert "_auth_user_id" not in forger.session
    assert _sign_in(Client(REMOTE_ADDR="203.0.113.8"), "chief", "right-password").status_code == 302


def test_behind_one_trusted_proxy_the_address_it_saw_is_counted(settings):
    settings.TRUSTED_PROXY_COUNT = 1
    settings.ADMIN_LOGIN_MAX_FAILURES_PER_ADDRESS = 3
    User.objects.create_superuser("chief", "chief@example.org", "right-password")
    proxy = "10.0.0.2"
    for number in range(3):  # the client forges a first address; the proxy appends the real one
        attacker = Client(
            REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR=f"192.0.2.{number}, {CLIENT_ADDRESS}"
        )
        _sign_in(attacker, f"user-{number}", "wrong")
    attacker = Client(REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR=f"192.0.2.50, {CLIENT_ADDRESS}")
    assert "from your network" in _sign_in(attacker, "chief", "right-password").content.decode()
    colleague = Client(REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR="203.0.113.8")
    assert _sign_in(colleague, "chief", "right-password").status_code == 302, (
        "another client behind the same proxy is not blocked"
    )


@pytest.mark.parametrize(
    ("count", "forwarded", "expected"),
    [
        (0, "198.51.100.1", "10.0.0.2"),
        (1, "", "10.0.0.2"),
        (1, "198.51.100.1", "198.51.100.1"),
        (1, "192.0.2.9, 198.51.100.1", "198.51.100.1"),
        (2, "192.0.2.9, 198.51.100.1, 10.0.0.1", "198.51.100.1"),
        (2, "198.51.100.1", "10.0.0.2"),
    ],
)
def test_client_address_takes_the_nth_forwarded_address_from_the_right(
    settings, rf, count, forwarded, expected
):
    from project.client_address import client_address, client_key

    settings.TRUSTED_PROXY_COUNT = count
    headers = {"HTTP_X_FORWARDED_FOR": forwarded} if forwarded else {}
    request = rf.get("/", REMOTE_ADDR="10.0.0.2", **headers)
    assert client_address(request) == expected
    assert expected not in client_key(request)


def test_counters_keep_no_address_in_the_cache(settings, caplog):
    settings.ADMIN_LOGIN_MAX_FAILURES_PER_ADDRESS = 2
    forger = Client(REMOTE_ADDR=CLIENT_ADDRESS, HTTP_X_FORWARDED_FOR=FORWARDED_ADDRESS)
    with caplog.at_level(logging.DEBUG):
        for _attempt in range(3):
            _sign_in(forger, "nobody", "wrong")
    # The in-process cache's entries can be read back; a Redis cache's keys are listed.
    if isinstance(getattr(cache, "_cache", None), dict):
        stored = str(list(cache._cache.items()))
    else:
        client = cache._cache.get_client(None, write=False)
        stored = str([(key, client.get(key)) for key in client.keys("*")])
    for address in (CLIENT_ADDRESS, FORWARDED_ADDRESS):
        assert address not in stored
        assert address not in caplog.text


# Rate limit of invitation links --------------------------------------------------------------


def test_a_link_requested_too_often_gets_429(client, reference_data, settings, mocker):
    settings.INVITATION_LINK_RATE_LIMIT = 5
    mocker.patch("surveys.questionnaire.aggregation_schedule")
    survey, other = survey_open(language="en"), survey_open(language="en")
    for _request in range(5):
        assert client.get(survey.url).status_code == 200
    page = client.get(survey.url)
    assert page.status_code == 429
    assert page["Retry-After"] == str(settings.INVITATION_LINK_RATE_WINDOW_SECONDS)
    assert "Too many requests for this link" in page.content.decode()
    autosave = reverse("surveys:autosave", args=[survey.token, survey.blocks[0].order])
    reply = client.post(autosave, {})
    assert reply.status_code == 429
    assert reply.json()["ok"] is False
    assert client.get(other.url).status_code == 200, "other links are not affected"
    # Counted per token: forged links are counted on their own and refused as unknown.
    assert client.get("/s/" + "B" * 43 + "/").status_code == 404


def test_a_link_keeps_working_while_the_cache_is_down(client, reference_data, mocker, caplog):
    mocker.patch("surveys.questionnaire.aggregation_schedule")
    survey = survey_open(language="en")
    mocker.patch("project.middleware.cache.incr", side_effect=ConnectionError("unreachable"))
    mocker.patch("project.middleware.cache.add", side_effect=ConnectionError("unreachable"))
    assert client.get(survey.url).status_code == 200
    assert consent(client, survey).status_code == 302
    page = fill(client, survey, 0, [5, 5, 5])
    assert page.status_code == 302, "answers are still saved"
    assert "Link rate limit not counted: cache unavailable (ConnectionError)" in caplog.text
    assert survey.token not in caplog.text


def _link_counts(token: str, **env_overrides: str) -> list[bool]:
    """Two requests of ``token`` counted by a fresh web process (``link_rate_exceeded``)."""
    code = (
        "import json, sys, django; django.setup();"
        "from project.middleware import link_rate_exceeded;"
        "print(json.dumps([link_rate_exceeded(sys.argv[1]) for _ in range(2)]))"
    )
    env = {
        **{k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"},
        "DJANGO_SETTINGS_MODULE": "project.settings.base",
        "INVITATION_LINK_RATE_LIMIT": "3",
        **env_overrides,
    }
    result = subprocess.run(
        [sys.executable, "-c", code, token],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(result.stdout)


def test_cache_url_names_the_cache_of_the_counters():
    code = (
        "import django; django.setup(); from django.conf import settings;"
        "print(settings.CACHES['default']['BACKEND'], settings.CACHES['default']['LOCATION'])"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "project.settings.base"}
    for url, expected in (
        ("redis://cache.example.org:6379/2", "redis.RedisCache redis://cache.example.org:6379/2"),
        ("", "locmem.LocMemCache "),
    ):
        env["CACHE_URL"] = url
        if not url:
            del env["CACHE_URL"]
        result = subprocess.run(
            [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True
        )
        assert result.stdout.rstrip("\n").endswith(expected), result.stderr


def test_without_a_shared_cache_each_process_counts_alone():
    token = secrets.token_urlsafe(32)
    env = {k: v for k, v in os.environ.items() if k != "CACHE_URL"}
    for _process in range(2):
        assert _link_counts(token, **env, CACHE_URL="locmemcache://") == [False, False]


@pytest.mark.skipif(
    not settings.CACHES["default"]["BACKEND"].endswith("RedisCache"),
    reason="needs a Redis cache (CACHE_URL=redis://…), as in CI's second pass",
)
def test_with_a_redis_cache_every_process_shares_the_link_count():
    token = secrets.token_urlsafe(32)
    assert _link_counts(token) == [False, False]
    assert _link_counts(token) == [False, True], "the second process goes on counting"


# No client address -----------------------------------------------------------------------------


CLIENT_ADDRESS = "203.0.113.77"
FORWARDED_ADDRESS = "198.51.100.23"


def test_no_model_has_an_address_field():
    for model in apps.get_models():
        for field in model._meta.get_fields():
            assert not isinstance(field, models.GenericIPAddressField), (model, field.name)


def test_a_full_questionnaire_leaves_no_client_address_in_logs_or_tables(
    reference_data, caplog, mocker
):
    mocker.patch("surveys.questionnaire.aggregation_schedule")
    survey = survey_open(language="en")
    client = Client(REMOTE_ADDR=CLIENT_ADDRESS, HTTP_X_FORWARDED_FOR=FORWARDED_ADDRESS)
    with caplog.at_level(logging.DEBUG):
        client.get(survey.url)
        consent(client, survey)
        for index, block in enumerate(survey.blocks):
            fill(client, survey, index, ["cj"] + [4] * (block.items.count() - 1), comment="ok")
        client.post(reverse("surveys:block", args=[survey.token, 999]), {"v-1": "x"})  # 400
        client.get("/s/" + "C" * 43 + "/")  # 404
        client.get(reverse("surveys:review", args=[survey.token]))
        client.post(reverse("surveys:submit", args=[survey.token]))
        assert client.get(reverse("surveys:thanks", args=[survey.token])).status_code == 200
    logged = caplog.text + "\n".join(str(record.__dict__) for record in caplog.records)
    for address in (CLIENT_ADDRESS, FORWARDED_ADDRESS):
        assert address not in logged
        for model in apps.get_models():
            for row in model.objects.values():
                assert address not in str(row), model
