"""The admin's wave workflow without traps: drafts first, sentences instead of constraint
names, a confirmation before closing a wave or any mass e-mail, the next wave from an
instrument."""

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.urls import reverse

from surveys import panel_admin
from surveys.models import AuditEntry, Invitation, Wave
from tests.conftest import login_with_second_factor

pytestmark = pytest.mark.django_db

# The management form of the wave page's texts inline, with no text.
NO_TEXTS = {"texts-TOTAL_FORMS": "0", "texts-INITIAL_FORMS": "0"}


@pytest.fixture
def boss() -> User:
    return User.objects.create_superuser("boss", password="pw")


@pytest.fixture
def invited(open_wave, panels, boss):
    from surveys import services

    expert = services.expert_create(panel=panels["MOW"], name="Ivan", email="ivan@example.org")
    panel_admin.invitations_create_bulk(wave=open_wave, experts=[expert], user=boss)
    return Invitation.objects.get(wave=open_wave)


def test_a_wave_is_created_as_a_draft_whatever_is_posted(client, boss):
    login_with_second_factor(client, boss)
    client.post(
        reverse("admin:surveys_wave_add"),
        {"slug": "2027", "title": "Wave 2027", "status": "open", **NO_TEXTS},
    )
    assert Wave.objects.get(slug="2027").status == Wave.Status.DRAFT


def test_closing_before_opening_is_refused_with_a_sentence(client, boss):
    login_with_second_factor(client, boss)
    page = client.post(
        reverse("admin:surveys_wave_add"),
        {
            "slug": "2027",
            "title": "Wave 2027",
            "opens_at_0": "2027-05-01",
            "opens_at_1": "00:00",
            "closes_at_0": "2027-04-01",
            "closes_at_1": "00:00",
        },
    ).content.decode()
    assert "The closing date must come after the opening date." in page
    assert "wave_closes_after_opening" not in page
    assert not Wave.objects.filter(slug="2027").exists()


def test_closing_a_wave_from_the_dashboard_asks_first(client, boss, open_wave):
    login_with_second_factor(client, boss)
    url = reverse("admin:surveys_wave_dashboard")
    page = client.post(url, {"wave": open_wave.slug, "action": "close"})
    assert page.status_code == 200
    assert "Every link of this wave stops working" in page.content.decode()
    open_wave.refresh_from_db()
    assert open_wave.status == Wave.Status.OPEN
    client.post(url, {"wave": open_wave.slug, "action": "close", "confirm": "yes"})
    open_wave.refresh_from_db()
    assert open_wave.status == Wave.Status.CLOSED


def test_closing_from_the_wave_list_asks_first(client, boss, open_wave):
    login_with_second_factor(client, boss)
    url = reverse("admin:surveys_wave_changelist")
    page = client.post(url, {"action": "close_waves", "_selected_action": [open_wave.pk]})
    assert "Yes, close the wave" in page.content.decode()
    open_wave.refresh_from_db()
    assert open_wave.status == Wave.Status.OPEN
    client.post(
        url, {"action": "close_waves", "_selected_action": [open_wave.pk], "confirm": "yes"}
    )
    open_wave.refresh_from_db()
    assert open_wave.status == Wave.Status.CLOSED


@pytest.mark.parametrize("action", ["send_invitations", "send_reminders", "invite_all"])
def test_every_mass_action_of_the_dashboard_asks_first(client, boss, invited, action):
    login_with_second_factor(client, boss)
    url = reverse("admin:surveys_wave_dashboard")
    before = AuditEntry.objects.count()
    page = client.post(url, {"wave": invited.wave.slug, "action": action})
    assert page.status_code == 200 and 'name="confirm" value="yes"' in page.content.decode()
    assert AuditEntry.objects.count() == before  # nothing done yet
    client.post(url, {"wave": invited.wave.slug, "action": action, "confirm": "yes"})
    assert AuditEntry.objects.count() == before + 1


def test_e_mailing_selected_invitations_asks_first(client, boss, invited):
    login_with_second_factor(client, boss)
    url = reverse("admin:surveys_invitation_changelist")
    data = {"action": "send_invitations", "_selected_action": [invited.pk]}
    page = client.post(url, data)
    assert "Yes, e-mail the invitations" in page.content.decode()
    assert not AuditEntry.objects.filter(action="invitation.send").exists()
    client.post(url, {**data, "confirm": "yes"})
    assert AuditEntry.objects.filter(action="invitation.send").exists()


def test_e_mailing_selected_experts_on_the_status_page_asks_first(client, boss, invited):
    login_with_second_factor(client, boss)
    url = reverse("admin:surveys_wave_experts") + f"?wave={invited.wave.slug}"
    data = {"action": "send_invitation", "invitation": [invited.pk]}
    page = client.post(url, data)
    assert "E-mail the invitations?" in page.content.decode()
    assert not AuditEntry.objects.filter(action="invitation.send").exists()
    client.post(url, {**data, "confirm": "yes"})
    assert AuditEntry.objects.filter(action="invitation.send").exists()


def test_the_invite_form_defaults_to_the_open_wave(client, boss, open_wave, panels):
    from surveys import services

    Wave.objects.create(slug="zz-newer-draft", title="A newer draft")
    expert = services.expert_create(panel=panels["MOW"], name="Ivan", email="ivan@example.org")
    login_with_second_factor(client, boss)
    page = client.post(
        reverse("admin:surveys_expert_changelist"),
        {"action": "invite_to_wave", "_selected_action": [expert.pk]},
    )
    assert page.context["form"]["wave"].value() == open_wave.pk


def test_the_next_wave_starts_from_the_instrument_in_the_admin(client, boss, open_wave):
    login_with_second_factor(client, boss)
    url = reverse("admin:surveys_wave_changelist")
    form = client.post(url, {"action": "copy_instrument", "_selected_action": [open_wave.pk]})
    assert "Create the draft wave" in form.content.decode()
    client.post(
        url,
        {
            "action": "copy_instrument",
            "_selected_action": [open_wave.pk],
            "confirm": "yes",
            "slug": "next",
            "title": "Next wave",
        },
    )
    copy = Wave.objects.get(slug="next")
    assert copy.status == Wave.Status.DRAFT
    assert copy.blocks.count() == open_wave.blocks.count()
    assert sorted(copy.blocks.values_list("items__code", flat=True)) == sorted(
        open_wave.blocks.values_list("items__code", flat=True)
    )
    assert AuditEntry.objects.filter(action="wave.copy_instrument", user=boss).exists()


def test_copy_instrument_command(open_wave):
    out = []
    writer = type("W", (), {"write": out.append})()
    call_command("copy_instrument", open_wave.slug, "next", stdout=writer)
    assert "Draft wave next created" in "".join(out)
    assert Wave.objects.get(slug="next").blocks.count() == open_wave.blocks.count()
    with pytest.raises(CommandError, match="already exists"):
        call_command("copy_instrument", open_wave.slug, "next")
    with pytest.raises(CommandError, match="No wave"):
        call_command("copy_instrument", "nope", "other")
