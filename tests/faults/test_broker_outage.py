"""The broker stops while experts submit: every answer is stored, and the wave's aggregation
catches up once the broker is back (fault 1a).

A throwaway Redis server is the broker of a real worker and of the app's publishing; the
test stops it, submits through the web form, starts it again and lets the periodic sweep
(what beat runs every minute) publish the request the outage left pending.
"""

import time

import pytest
from django.test import Client
from django.urls import reverse

from aggregation.models import AggregationRun, PendingAggregation
from aggregation.scheduling import aggregation_sweep
from project.celery import app
from surveys.models import Rating, Response
from tests.factories import ExpertFactory, survey_open
from tests.faults.conftest import needs_redis, wait_for
from tests.surveys.test_questionnaire import consent, fill
from tests.worker import celery_worker

pytestmark = [needs_redis, pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def publish_to(throwaway_redis):
    """Point the app's publishing at the throwaway broker."""
    app.conf.broker_write_url = throwaway_redis.url
    yield throwaway_redis
    app.conf.broker_write_url = None


def _answer_everything(client: Client, survey) -> None:
    assert consent(client, survey).status_code == 302
    for index, block in enumerate(survey.blocks):
        values = [4 + index] * block.items.count()
        assert fill(client, survey, index, values).status_code == 302
    started = time.monotonic()
    page = client.post(reverse("surveys:submit", args=[survey.token]))
    assert time.monotonic() - started < 10, "a broker that is down must not block submitting"
    assert page.status_code == 302
    assert page.url == reverse("surveys:thanks", args=[survey.token])


def test_submissions_during_broker_outage_are_kept_and_aggregated_after(panels, publish_to):
    from surveys.services import invitation_create

    broker = publish_to
    # Moscow's panel: the comparisons need the home panels of Russia and Armenia.
    survey = survey_open(language="en", other_panel_block=False, panel=panels["MOW"])
    second_expert = ExpertFactory(panel=survey.panel, language="en")
    _, second_token = invitation_create(expert=second_expert, wave=survey.wave, language="en")

    with celery_worker(CELERY_BROKER_URL=broker.url):
        broker.stop()
        _answer_everything(Client(), survey)
        survey.token = second_token  # the second expert's link, same questionnaire
        _answer_everything(Client(), survey)

        # Both submissions stored whole; nothing reached the broker; nothing aggregated.
        assert Response.objects.filter(status=Response.Status.SUBMITTED).count() == 2
        n_ratings = Rating.objects.filter(response__wave=survey.wave).count()
        assert n_ratings == 2 * sum(block.items.count() for block in survey.blocks)
        pending = PendingAggregation.objects.get(wave=survey.wave)
        assert pending.dispatched_at is None, "the publish failed, the request stays pending"
        assert not AggregationRun.objects.filter(wave=survey.wave).exists()

        broker.start()
        # The sweep publishes the pending request; the worker, reconnected, runs it.
        assert aggregation_sweep() == 1
        assert wait_for(
            lambda: (
                AggregationRun.objects.filter(wave=survey.wave)
                .exclude(status=AggregationRun.Status.RUNNING)
                .exists()
            ),
            timeout=120,
        ), "no run after the broker came back; see the test-worker.log"

    run = AggregationRun.objects.get(wave=survey.wave)
    assert run.status == AggregationRun.Status.COMPLETE, run.error
    assert run.n_ratings == n_ratings, "the run includes every answer given during the outage"
    assert not PendingAggregation.objects.filter(wave=survey.wave).exists()
