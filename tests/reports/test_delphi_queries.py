"""The Delphi report and the Delphi admin pages cost a number of queries that does not grow
with the experts of the study: measured on the same two-round study with 2 and with 10
experts."""

from unittest import mock

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from surveys import delphi
from surveys.models import Invitation, Response, RevisionJustification
from surveys.questionnaire import Answer, response_save_block, response_start, response_submit
from surveys.services import invitation_create, wave_close
from tests.conftest import login_with_second_factor
from tests.factories import ExpertFactory, survey_open

pytestmark = pytest.mark.django_db

BLOCKS = [
    ("RUS", "ARM", "expectation", ["protectee", "faithful_ally", "independent"]),
    ("ARM", "ARM", "conception", ["independent", "bridge"]),
]


@pytest.fixture(autouse=True)
def schedule():
    with mock.patch("surveys.questionnaire.aggregation_schedule") as patched:
        yield patched


def answer(invitation: Invitation, value_of) -> Response:
    """Submit every block of the invitation's wave; ``value_of(item_index)`` gives values."""
    response = response_start(invitation=invitation)
    for block in invitation.wave.blocks.order_by("order"):
        items = list(block.items.order_by("order"))
        response_save_block(
            response=response,
            block=block,
            answers=[Answer(item_id=item.pk, value=value_of(i)) for i, item in enumerate(items)],
        )
    return response_submit(response=response)


def study_with(experts: int):
    """A two-round study, ended: ``experts`` answer both rounds, each round-2 answer
    revised with a reason."""
    survey = survey_open(language="en", blocks=BLOCKS, other_panel_block=False)
    study = delphi.delphi_study_start(wave=survey.wave, title=f"{experts} experts")
    invitations = [survey.invitation]
    for _ in range(experts - 1):
        invitation, _token = invitation_create(
            expert=ExpertFactory(panel=survey.panel, language="en"), wave=survey.wave
        )
        invitations.append(invitation)
    for number, invitation in enumerate(invitations):
        answer(invitation, lambda i, n=number: (n + i) % 11)
    wave_close(wave=survey.wave)
    round_two, _tokens = delphi.delphi_round_open(study=study)
    for number, invitation in enumerate(Invitation.objects.filter(wave=round_two.wave)):
        response = answer(invitation, lambda i, n=number: (n + 2 * i) % 11)
        RevisionJustification.objects.bulk_create(
            RevisionJustification(response=response, item=rating.item, text=f"Reason {number}.")
            for rating in response.ratings.select_related("item")
        )
    wave_close(wave=round_two.wave)  # the last round: ends the study
    study.refresh_from_db()
    assert study.ended_at is not None
    return study


def queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(captured)


PAGES = {
    "report": lambda study: reverse("reports:delphi", args=[study.pk]),
    "study": lambda study: reverse("admin:surveys_delphistudy_change", args=[study.pk]),
    "studies": lambda study: reverse("admin:surveys_delphistudy_changelist"),
}


@pytest.mark.parametrize("page", PAGES)
def test_delphi_pages_cost_the_same_queries_for_2_and_10_experts(
    client, page, django_assert_max_num_queries
):
    login_with_second_factor(client, User.objects.create_superuser("boss", "b@example.org", "pw"))
    small, large = study_with(2), study_with(10)
    url = PAGES[page]
    client.get(url(small))  # caches (content types, site) filled by the first request
    counts = [queries(client, url(study)) for study in (small, large)]
    assert counts[0] == counts[1], counts
    with django_assert_max_num_queries(counts[0]):
        client.get(url(large))


def round_one_closed(experts: int):
    survey = survey_open(language="en", blocks=BLOCKS, other_panel_block=False)
    study = delphi.delphi_study_start(wave=survey.wave, title=f"{experts} experts")
    answer(survey.invitation, lambda i: i)
    for _ in range(experts - 1):
        invitation, _token = invitation_create(
            expert=ExpertFactory(panel=survey.panel, language="en"), wave=survey.wave
        )
        answer(invitation, lambda i: i + 1)
    wave_close(wave=survey.wave)
    return study


@pytest.mark.parametrize("action", ["open_next_round", "open_next_round_new_links"])
def test_opening_the_next_round_costs_the_same_queries_for_2_and_10_experts(client, action):
    login_with_second_factor(client, User.objects.create_superuser("boss", "b@example.org", "pw"))
    client.get(reverse("admin:surveys_delphistudy_changelist"))  # caches filled
    counts = []
    for experts in (2, 10):
        study = round_one_closed(experts)
        with CaptureQueriesContext(connection) as captured:
            client.post(
                reverse("admin:surveys_delphistudy_changelist"),
                {"action": action, "_selected_action": [study.pk]},
            )
        assert study.rounds.count() == 2
        assert Invitation.objects.filter(wave=study.rounds.get(number=2).wave).count() == experts
        counts.append(len(captured))
    assert counts[0] == counts[1], counts
