"""A submission through the web form succeeds with the broker down; its aggregation is
published once the broker is back."""

import time

import pytest
from django.urls import reverse

from aggregation.models import PendingAggregation
from aggregation.scheduling import aggregation_sweep
from project.celery import app
from surveys.models import Rating, Response
from tests.factories import survey_open
from tests.surveys.test_questionnaire import consent, fill

pytestmark = pytest.mark.django_db

UNREACHABLE_BROKER = "redis://127.0.0.1:1/0"


@pytest.fixture
def broker_down():
    # Publishing uses the write URL, which an environment CELERY_BROKER_URL cannot override.
    app.conf.broker_write_url = UNREACHABLE_BROKER
    yield
    app.conf.broker_write_url = None


def test_submission_with_broker_down_is_stored_and_aggregated_later(
    client, broker_down, django_capture_on_commit_callbacks, mocker, reference_data
):
    survey = survey_open(language="en")
    consent(client, survey)
    fill(client, survey, 0, [5, 6, 7])
    started = time.monotonic()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        page = client.post(reverse("surveys:submit", args=[survey.token]))
    assert time.monotonic() - started < 10, "a broker that is down must not block submitting"
    assert callbacks, "the submission published (tried to publish) on commit"
    assert page.status_code == 302
    assert page.url == reverse("surveys:thanks", args=[survey.token])
    response = Response.objects.get()
    assert response.status == Response.Status.SUBMITTED
    assert Rating.objects.filter(response=response).count() == 3
    pending = PendingAggregation.objects.get(wave=survey.wave)
    assert pending.dispatched_at is None, "nothing reached the broker"

    # The broker is back: the periodic sweep (or a starting worker) publishes the request.
    app.conf.broker_write_url = "memory://"
    publish = mocker.patch("aggregation.tasks.aggregate_wave.apply_async")
    assert aggregation_sweep() == 1
    assert publish.call_args.kwargs["args"] == [survey.wave.pk]
    assert PendingAggregation.objects.get(wave=survey.wave).dispatched_at is not None
