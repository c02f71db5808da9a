"""Two submits of one response at the same moment, through the web form, on two threads with
their own database connections (fault 1d): exactly one submission counts.

Runs on SQLite and on PostgreSQL (where the conditional ``UPDATE`` holds the row lock and
the second request waits, then finds nothing to do).
"""

import threading

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from aggregation.models import PendingAggregation
from surveys.models import Invitation, Rating, Response
from tests.factories import survey_open
from tests.surveys.test_questionnaire import consent, fill

pytestmark = pytest.mark.django_db(transaction=True)


def test_two_concurrent_submits_through_the_form_count_once(reference_data, mocker):
    survey = survey_open(language="en", other_panel_block=False)
    browser = Client()
    consent(browser, survey)
    fill(browser, survey, 0, [5, 6, 7])
    schedule = mocker.patch(
        "surveys.questionnaire.aggregation_schedule",
        side_effect=lambda wave_id: PendingAggregation.objects.create(
            wave_id=wave_id, requested_at=Response.objects.get().submitted_at
        ),
    )
    url = reverse("surveys:submit", args=[survey.token])
    barrier = threading.Barrier(2)
    pages, errors = [], []

    def submit() -> None:
        try:
            tab = Client()
            barrier.wait()
            pages.append(tab.post(url))
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=submit) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert not errors
    thanks = reverse("surveys:thanks", args=[survey.token])
    assert [page.status_code for page in pages] == [302, 302]
    assert {page.url for page in pages} == {thanks}
    assert Response.objects.count() == 1
    assert Response.objects.get().status == Response.Status.SUBMITTED
    assert Invitation.objects.get(pk=survey.invitation.pk).status == Invitation.Status.SUBMITTED
    schedule.assert_called_once_with(wave_id=survey.wave.pk)
    assert PendingAggregation.objects.filter(wave=survey.wave).count() == 1
    assert Rating.objects.count() == 3
