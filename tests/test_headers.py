"""Response headers of project.middleware: Permissions-Policy everywhere, no referrer from the
questionnaire, and a CSRF check that works without one."""

import pytest
from django.test import Client
from django.urls import reverse

from tests.factories import survey_open

pytestmark = pytest.mark.django_db


@pytest.fixture
def survey(reference_data):
    return survey_open(language="en")


def test_every_response_turns_powerful_features_off(client, survey):
    for url in (survey.url, "/s/unknown/", "/admin/login/", "/api/v1/", "/no-such-page/"):
        policy = client.get(url).headers["Permissions-Policy"]
        for feature in ("camera", "microphone", "geolocation", "payment", "usb"):
            assert f"{feature}=()" in policy, url


def test_questionnaire_pages_send_no_referrer(client, survey):
    pages = [survey.url, "/s/unknown/"]
    client.post(survey.url, {"consent": "on"})
    pages.append(reverse("surveys:block", args=[survey.token, survey.blocks[0].order]))
    for url in pages:
        page = client.get(url)
        assert page.headers["Referrer-Policy"] == "no-referrer", url
        if page.status_code == 200:
            assert '<meta name="referrer" content="no-referrer">' in page.content.decode(), url


def consent_post(**headers):
    """The consent form of a new link, posted with a CSRF token and ``headers``."""
    survey = survey_open(language="en")
    client = Client(enforce_csrf_checks=True)
    client.get(survey.url)
    token = client.cookies["csrftoken"].value
    return client.post(survey.url, {"consent": "on", "csrfmiddlewaretoken": token}, **headers)


def test_a_form_posted_without_referrer_from_the_same_site_is_accepted(reference_data):
    response = consent_post(HTTP_ORIGIN="null", HTTP_SEC_FETCH_SITE="same-origin")
    assert response.status_code == 302
    # A browser without Fetch Metadata: the CSRF token alone decides, as it does without Origin.
    assert consent_post(HTTP_ORIGIN="null").status_code == 302


def test_a_form_posted_from_another_site_is_refused(reference_data):
    assert consent_post(HTTP_ORIGIN="null", HTTP_SEC_FETCH_SITE="cross-site").status_code == 403
    assert consent_post(HTTP_ORIGIN="https://evil.example").status_code == 403
