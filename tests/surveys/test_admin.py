"""The admin: every model's pages render; expert identities need their own permission."""

from io import StringIO

import pytest
from django.contrib import admin
from django.contrib.auth.models import Permission, User
from django.core.management import call_command
from django.urls import reverse

from surveys.models import Block, Expert, Panel, Wave
from tests.conftest import login_with_second_factor

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo():
    call_command("seed_demo", stdout=StringIO())
    call_command("aggregate", "2025", "--sync", stdout=StringIO())


def staff_user(*permissions: str, panels=None) -> User:
    """A staff user with these permissions, administering ``panels`` (default: every panel)."""
    user = User.objects.create_user("staff", password="pw", is_staff=True)
    codenames = [p.split(".")[1] for p in permissions]
    user.user_permissions.set(Permission.objects.filter(codename__in=codenames))
    user.administered_panels.set(Panel.objects.all() if panels is None else panels)
    return user


def test_every_registered_model_has_a_working_changelist(client, demo):
    login_with_second_factor(client, User.objects.get(username="admin"))
    for model in admin.site._registry:
        opts = model._meta
        url = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
        assert client.get(url).status_code == 200, url
        obj = model.objects.first()
        if obj is not None:
            change = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])
            assert client.get(change).status_code == 200, change


def test_staff_without_identity_permission_sees_no_names_or_emails(client, demo):
    user = staff_user("surveys.view_expert", "surveys.view_invitation", "surveys.view_response")
    client.force_login(user)
    expert = Expert.objects.first()
    pages = [
        reverse("admin:surveys_expert_changelist"),
        reverse("admin:surveys_expert_change", args=[expert.pk]),
        reverse("admin:surveys_invitation_changelist"),
        reverse("admin:surveys_response_changelist"),
        reverse("admin:surveys_expert_changelist") + "?q=Synthetic",
    ]
    for page in pages:
        body = client.get(page).content.decode()
        assert expert.name not in body and expert.email not in body, page
        assert "Synthetic Expert" not in body and "@example.org" not in body, page


def test_identity_permission_shows_names(client, demo):
    user = staff_user("surveys.view_expert", "surveys.view_expert_identity")
    login_with_second_factor(client, user)
    body = client.get(reverse("admin:surveys_expert_changelist")).content.decode()
    assert "Synthetic Expert" in body


def test_open_wave_blocks_are_read_only_in_the_admin(client, demo):
    login_with_second_factor(client, User.objects.get(username="admin"))
    block = Block.objects.filter(wave__status=Wave.Status.OPEN).first()
    url = reverse("admin:surveys_block_change", args=[block.pk])
    response = client.post(url, {"order": 99})
    assert response.status_code == 403
    block.refresh_from_db()
    assert block.order != 99


def test_admin_open_action_reports_lifecycle_errors(client, demo):
    login_with_second_factor(client, User.objects.get(username="admin"))
    wave = Wave.objects.get(slug="2025")
    response = client.post(
        reverse("admin:surveys_wave_changelist"),
        {"action": "open_waves", "_selected_action": [wave.pk]},
        follow=True,
    )
    assert "Only a draft wave can be opened" in response.content.decode()


def test_opening_expert_identities_is_audited_without_personal_data(client, demo):
    from surveys.models import AuditEntry

    user = staff_user("surveys.view_expert", "surveys.view_expert_identity")
    login_with_second_factor(client, user)
    expert = Expert.objects.first()
    client.get(reverse("admin:surveys_expert_changelist"))
    client.get(reverse("admin:surveys_expert_change", args=[expert.pk]))
    entries = AuditEntry.objects.filter(user=user, action="identity.view")
    assert {entry.detail["page"] for entry in entries} == {"expert list", "expert"}
    assert entries.filter(object_id=str(expert.pk)).exists()
    for entry in entries:
        assert expert.name not in str(entry.detail) and expert.email not in str(entry.detail)


def test_pages_without_identities_are_not_audited_as_identity_views(client, demo):
    from surveys.models import AuditEntry

    client.force_login(staff_user("surveys.view_expert"))
    client.get(reverse("admin:surveys_expert_changelist"))
    assert not AuditEntry.objects.filter(action="identity.view").exists()
