"""Deleting collected data: audited with what was removed, aggregation scheduled, and a
closed wave's data only by a superuser."""

from unittest import mock

import pytest
from django.contrib.auth.models import Permission, User
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from surveys import data_changes, questionnaire, services
from surveys.models import AuditEntry, Rating, Response
from tests.conftest import login_with_second_factor
from tests.factories import survey_open

pytestmark = pytest.mark.django_db


@pytest.fixture
def response(reference_data) -> Response:
    survey = survey_open(language="en")
    response = questionnaire.response_start(invitation=survey.invitation)
    for item in survey.blocks[0].items.all():
        Rating.objects.create(response=response, item=item, value=4)
    return response


@pytest.fixture
def panel_admin_user(response) -> User:
    user = User.objects.create_user("panel-admin", password="pw", is_staff=True)
    # Without the identity permission: who sees identities never sees per-response records.
    user.user_permissions.set(
        Permission.objects.filter(content_type__app_label="surveys").exclude(
            codename="view_expert_identity"
        )
    )
    user.administered_panels.set([response.panel])
    return user


@pytest.fixture
def schedule():
    with mock.patch("surveys.data_changes.aggregation_schedule") as patched:
        yield patched


def test_deleting_a_rating_is_audited_with_its_old_value_and_schedules_aggregation(
    client, response, panel_admin_user, schedule
):
    rating = response.ratings.order_by("pk").first()
    login_with_second_factor(client, panel_admin_user)
    client.post(reverse("admin:surveys_rating_delete", args=[rating.pk]), {"post": "yes"})
    assert not Rating.objects.filter(pk=rating.pk).exists()
    entry = AuditEntry.objects.get(action="rating.delete")
    old = entry.detail["changes"]["rating"]["old"]
    assert old["value"] == 4 and old["pseudonym"] == response.pseudonym
    assert entry.user == panel_admin_user
    schedule.assert_called_with(wave_id=response.wave_id)


def test_deleting_a_response_is_audited_and_schedules_aggregation(
    client, response, panel_admin_user, schedule
):
    login_with_second_factor(client, panel_admin_user)
    client.post(
        reverse("admin:surveys_response_changelist"),
        {"action": "delete_selected", "_selected_action": [response.pk], "post": "yes"},
    )
    assert not Response.objects.filter(pk=response.pk).exists()
    assert not Rating.objects.filter(response_id=response.pk).exists()
    entry = AuditEntry.objects.get(action="response.delete")
    assert entry.detail["changes"]["response"]["old"]["ratings"] == 3
    schedule.assert_called_with(wave_id=response.wave_id)


def test_a_closed_waves_data_changes_only_by_a_superuser(response, panel_admin_user, schedule):
    services.wave_close(wave=response.wave)
    with pytest.raises(PermissionDenied, match="closed"):
        data_changes.ratings_delete(ratings=response.ratings.all(), user=panel_admin_user)
    assert response.ratings.count() == 3
    boss = User.objects.create_superuser("boss", password="pw")
    assert data_changes.ratings_delete(ratings=response.ratings.all()[:1], user=boss) == 1
    assert AuditEntry.objects.get(action="rating.delete").user == boss
