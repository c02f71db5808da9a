"""The link between a response and its expert: re-issued only to the address the response was
started with, cut for good when the wave closes; the admin's forms cannot move it."""

import json
import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission, User
from django.core import mail
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext

from surveys import linkage, panel_admin, questionnaire, services
from surveys.middleware import language_override
from surveys.models import AuditEntry, Invitation, Rating, Response
from tests.conftest import login_with_second_factor
from tests.factories import survey_open

pytestmark = pytest.mark.django_db

VICTIM = "victim@example.org"
ATTACKER = "attacker@example.org"


@pytest.fixture
def answered(reference_data):
    """An expert who received the link, answered a block and submitted; the e-mail went out
    three days ago, so reminders are allowed by the limits."""
    survey = survey_open(language="en")
    expert = survey.expert
    expert.email = VICTIM
    expert.save()
    panel_admin.invitation_send(invitation_id=survey.invitation.pk)
    invitation = Invitation.objects.get(pk=survey.invitation.pk)
    response = questionnaire.response_start(invitation=invitation)
    for item in survey.blocks[0].items.all():
        Rating.objects.create(response=response, item=item, value=9)
    questionnaire.response_submit(response=response)
    Invitation.objects.filter(pk=invitation.pk).update(sent_at=timezone.now() - timedelta(days=3))
    mail.outbox.clear()
    return survey, Invitation.objects.get(pk=invitation.pk), response


@pytest.fixture
def panel_admin_user(answered) -> User:
    survey, _invitation, _response = answered
    user = User.objects.create_user("panel-admin", password="pw", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(content_type__app_label="surveys"))
    user.administered_panels.set([survey.panel])
    return user


def links_in_mail() -> list[tuple[list[str], str]]:
    return [
        (message.to, link)
        for message in mail.outbox
        for link in re.findall(r"/s/\S+/", message.body)
    ]


def test_the_hijack_sequence_reveals_no_answer(client, answered, panel_admin_user):
    """Change the expert's e-mail, reopen the response, set the invitation back to
    "created", send it: before, the new link opened the expert's answers pre-filled."""
    survey, invitation, response = answered
    login_with_second_factor(client, panel_admin_user)
    expert = survey.expert
    # 1. The e-mail is changed to the admin's own address (allowed: admins manage experts).
    client.post(
        reverse("admin:surveys_expert_change", args=[expert.pk]),
        {
            "panel": expert.panel_id,
            "name": expert.name,
            "email": ATTACKER,
            "affiliation": "",
            "language": "en",
            "other_languages": "",
            "is_active": "on",
        },
    )
    expert.refresh_from_db()
    assert expert.email == ATTACKER
    # 2. The response is reopened (allowed while the wave is open).
    client.post(
        reverse("admin:surveys_wave_experts") + f"?wave={survey.wave.slug}",
        {"action": "reopen", "invitation": [invitation.pk]},
    )
    assert Response.objects.get(pk=response.pk).status == Response.Status.DRAFT
    # 3. The invitation cannot be set back to "created": its form is read-only.
    url = reverse("admin:surveys_invitation_change", args=[invitation.pk])
    assert client.post(url, {"status": "created", "expert": expert.pk}).status_code == 403
    assert Invitation.objects.get(pk=invitation.pk).status == Invitation.Status.STARTED
    # 4. Sending the invitation, or a reminder, does not mail a link to the new address.
    for action in ("send_invitations", "send_reminders"):
        client.post(
            reverse("admin:surveys_invitation_changelist"),
            {"action": action, "_selected_action": [invitation.pk]},
        )
    assert panel_admin.reminder_send(invitation_id=invitation.pk) is False
    assert panel_admin.invitation_send(invitation_id=invitation.pk) is False
    assert links_in_mail() == []
    assert not [message for message in mail.outbox if ATTACKER in message.to]
    # The expert's own link still works and is the only way to the answers.
    assert Invitation.objects.get(pk=invitation.pk).token_hash == invitation.token_hash


def test_a_superusers_approval_sends_the_link_to_the_new_address_and_tells_the_old(answered):
    survey, invitation, response = answered
    questionnaire.response_reopen(response=response)
    invitation.refresh_from_db()
    expert = survey.expert
    expert.email = "new-address@example.org"
    expert.save()
    assert linkage.reissue_blocker(invitation=invitation) == linkage.REISSUE_NEEDS_APPROVAL
    panel_only = User.objects.create_user("clerk", is_staff=True)
    with pytest.raises(Exception, match="superuser"):
        linkage.reissue_approve(invitation=invitation, user=panel_only)
    boss = User.objects.create_superuser("boss", password="pw")
    linkage.reissue_approve(invitation=invitation, user=boss)
    assert panel_admin.reminder_send(invitation_id=invitation.pk) is True
    recipients = [message.to for message in mail.outbox]
    assert [VICTIM] in recipients and ["new-address@example.org"] in recipients
    notice = next(message for message in mail.outbox if message.to == [VICTIM])
    assert "/s/" not in notice.body
    entry = AuditEntry.objects.get(action="invitation.reissue_approve")
    assert entry.user == boss
    text = json.dumps(entry.detail)
    assert "@" not in text and set(entry.detail["changes"]["email"]) == {"old", "new"}


@pytest.mark.parametrize("language", ["en", "ru", "kk", "hy", "ky", "tg"])
def test_the_old_address_is_told_in_the_experts_language(answered, language):
    survey, invitation, response = answered
    questionnaire.response_reopen(response=response)
    Invitation.objects.filter(pk=invitation.pk).update(language=language)
    survey.expert.email = "new-address@example.org"
    survey.expert.save()
    linkage.reissue_approve(
        invitation=Invitation.objects.get(pk=invitation.pk),
        user=User.objects.create_superuser("boss", password="pw"),
    )
    assert panel_admin.reminder_send(invitation_id=invitation.pk) is True
    notice = next(message for message in mail.outbox if message.to == [VICTIM])
    with language_override(language):
        assert notice.subject == gettext("Your survey link was sent to a new address")
    assert survey.invitation.wave.title in notice.body
    if language != "en":
        assert notice.subject != "Your survey link was sent to a new address"


def test_a_response_without_answers_gets_its_link_at_any_address(answered):
    survey, invitation, response = answered
    Rating.objects.filter(response=response).delete()
    survey.expert.email = "changed@example.org"
    survey.expert.save()
    assert linkage.reissue_blocker(invitation=invitation) is None


def test_the_address_a_response_was_started_with_is_recorded_encrypted(answered):
    _survey, invitation, _response = answered
    assert invitation.started_email == VICTIM
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT started_email FROM surveys_invitation WHERE id = %s", [invitation.pk]
        )
        (stored,) = cursor.fetchone()
    assert VICTIM not in stored


def test_closing_the_wave_cuts_every_response_from_its_expert(answered):
    survey, invitation, response = answered
    services.wave_close(wave=survey.wave)
    response.refresh_from_db()
    invitation.refresh_from_db()
    assert response.invitation_id is None
    assert Response.objects.filter(wave=survey.wave, invitation__isnull=False).count() == 0
    assert (invitation.sent_at, invitation.opened_at, invitation.submitted_at) == (None,) * 3
    assert invitation.last_reminder_at is None and invitation.started_email is None
    # No stored time of the invitation equals one of the response's.
    response_times = {response.started_at, response.consented_at, response.submitted_at}
    invitation_times = {
        value for name, value in vars(invitation).items() if name.endswith("_at") and value
    }
    assert not (response_times & invitation_times)
    assert AuditEntry.objects.filter(action="wave.unlink", detail__responses=1).exists()


def test_unlink_command_refuses_an_open_wave_and_reports_zero_when_done(answered):
    survey, _invitation, _response = answered
    with pytest.raises(CommandError, match="still open"):
        call_command("unlink_responses", survey.wave.slug)
    services.wave_close(wave=survey.wave)
    out = []
    call_command(
        "unlink_responses", survey.wave.slug, stdout=type("W", (), {"write": out.append})()
    )
    assert "0 responses" in "".join(out)
    with pytest.raises(CommandError, match="No wave"):
        call_command("unlink_responses", "no-such-wave")


def test_response_and_rating_pages_show_no_identity_and_cannot_be_edited(
    client, answered, panel_admin_user
):
    _survey, invitation, response = answered
    clerk = User.objects.create_user("clerk", password="pw", is_staff=True)
    clerk.user_permissions.set(
        Permission.objects.filter(content_type__app_label="surveys").exclude(
            codename="view_expert_identity"
        )
    )
    clerk.administered_panels.set([response.panel])
    login_with_second_factor(client, clerk)
    page = client.get(reverse("admin:surveys_response_change", args=[response.pk]))
    body = page.content.decode()
    assert response.pseudonym in body
    assert f"Invitation #{invitation.pk}" not in body and "Expert #" not in body
    assert f"/invitation/{invitation.pk}/" not in body
    rating = response.ratings.first()
    before = (rating.value, rating.cannot_judge)
    url = reverse("admin:surveys_rating_change", args=[rating.pk])
    assert client.post(url, {"value": 0, "response": response.pk}).status_code == 403
    rating.refresh_from_db()
    assert (rating.value, rating.cannot_judge) == before
    url = reverse("admin:surveys_response_change", args=[response.pk])
    assert client.post(url, {"status": "draft"}).status_code == 403
    assert client.get(reverse("admin:surveys_invitation_add")).status_code == 403
