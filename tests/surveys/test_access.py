"""Panels belong to their admins: an admin of Moscow's panel tries every page and action on
Yerevan's experts, invitations, responses, ratings and comments, and gets 404 or 403 with
nothing changed."""

import json

import pytest
from django.contrib.auth.models import Permission, User
from django.core import mail
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from surveys import data_changes, expert_import, panel_admin, questionnaire
from surveys.access import panel_ids_administered, panels_scope
from surveys.models import (
    AuditEntry,
    BlockComment,
    Expert,
    Invitation,
    Panel,
    Rating,
    Response,
)
from tests.conftest import login_with_second_factor
from tests.factories import PanelFactory, survey_open

pytestmark = pytest.mark.django_db

MODELS = ("expert", "invitation", "response", "rating", "blockcomment")


@pytest.fixture
def surveys(reference_data):
    """Two panels of one open wave, one expert each, both with a submitted response that
    has ratings and a comment."""
    mow = survey_open(language="en", other_panel_block=False)
    yer_panel = PanelFactory(code="YER", city_en="Yerevan", city_ru="Ереван", actor=mow.panel.actor)
    yer_expert = Expert.objects.create(
        panel=yer_panel, name="Anna Hakobyan", email="anna@example.org", language="en"
    )
    for block in mow.blocks:
        block.panels.add(yer_panel)
    yer_invitation = Invitation.objects.create(
        expert=yer_expert, wave=mow.wave, token_hash="0" * 64, language="en"
    )
    for invitation in (mow.invitation, yer_invitation):
        response = questionnaire.response_start(invitation=invitation)
        for item in mow.blocks[0].items.all():
            Rating.objects.create(response=response, item=item, value=5)
        BlockComment.objects.create(response=response, block=mow.blocks[0], text="A comment")
        questionnaire.response_submit(response=response)
    return mow, yer_invitation


@pytest.fixture
def moscow_admin(surveys) -> User:
    """A staff user with every permission on the survey data, identities included, who
    administers only Moscow's panel."""
    mow, _yer = surveys
    user = User.objects.create_user("mow-admin", password="pw", is_staff=True)
    user.user_permissions.set(
        Permission.objects.filter(content_type__app_label__in=["surveys", "aggregation"])
    )
    user.administered_panels.set([mow.panel])
    return user


@pytest.fixture
def moscow_clerk(surveys) -> User:
    """A staff user of Moscow's panel with every permission except seeing identities."""
    mow, _yer = surveys
    user = User.objects.create_user("mow-clerk", password="pw", is_staff=True)
    user.user_permissions.set(
        Permission.objects.filter(content_type__app_label__in=["surveys", "aggregation"]).exclude(
            codename="view_expert_identity"
        )
    )
    user.administered_panels.set([mow.panel])
    return user


def snapshot() -> str:
    """Everything an admin could change, as one comparable text."""
    rows = {
        "experts": list(Expert.objects.order_by("pk").values()),
        "invitations": list(Invitation.objects.order_by("pk").values()),
        "responses": list(Response.objects.order_by("pk").values()),
        "ratings": list(Rating.objects.order_by("pk").values()),
        "comments": list(BlockComment.objects.order_by("pk").values()),
    }
    return json.dumps(rows, default=str, sort_keys=True)


def yerevan_objects(yer_invitation: Invitation) -> dict[str, object]:
    response = Response.objects.get(panel=yer_invitation.expert.panel)
    return {
        "expert": yer_invitation.expert,
        "invitation": yer_invitation,
        "response": response,
        "rating": response.ratings.first(),
        "blockcomment": response.comments.first(),
    }


def test_panel_scope_of_a_superuser_is_every_panel(surveys):
    boss = User.objects.create_superuser("boss", password="pw")
    assert panel_ids_administered(boss) is None
    assert panels_scope(Expert.objects.all(), user=boss).count() == 2


def test_a_staff_user_without_panels_sees_no_expert(surveys):
    user = User.objects.create_user("nobody", password="pw", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename="view_expert"))
    assert panels_scope(Expert.objects.all(), user=user).count() == 0


def test_lists_show_only_the_admins_panels(client, surveys, moscow_admin, moscow_clerk):
    _mow, yer_invitation = surveys
    for model in MODELS:
        identities = model in ("expert", "invitation")
        login_with_second_factor(client, moscow_admin if identities else moscow_clerk)
        page = client.get(reverse(f"admin:surveys_{model}_changelist"))
        assert page.status_code == 200, model
        shown = {obj.pk for obj in page.context["cl"].result_list}
        other = yerevan_objects(yer_invitation)[model]
        assert other.pk not in shown, model
        assert shown, model  # the admin's own panel is there
    login_with_second_factor(client, moscow_admin)
    body = client.get(reverse("admin:surveys_expert_changelist")).content.decode()
    assert "Anna Hakobyan" not in body


@pytest.mark.parametrize("who", ["moscow_admin", "moscow_clerk"])
def test_every_page_of_another_panels_object_is_not_found(client, surveys, who, request):
    _mow, yer_invitation = surveys
    login_with_second_factor(client, request.getfixturevalue(who))
    before = snapshot()
    for model, obj in yerevan_objects(yer_invitation).items():
        for view in ("change", "delete", "history"):
            url = reverse(f"admin:surveys_{model}_{view}", args=[obj.pk])
            assert client.get(url).status_code in (403, 404), (model, view)
            assert client.post(url, {"post": "yes"}).status_code in (403, 404), (model, view)
    assert snapshot() == before


@pytest.mark.parametrize("who", ["moscow_admin", "moscow_clerk"])
def test_actions_on_another_panels_objects_change_nothing(client, surveys, who, request):
    _mow, yer_invitation = surveys
    login_with_second_factor(client, request.getfixturevalue(who))
    objects = yerevan_objects(yer_invitation)
    before = snapshot()
    for model, action in [
        ("invitation", "send_invitations"),
        ("invitation", "send_reminders"),
        ("response", "delete_selected"),
        ("rating", "delete_selected"),
        ("expert", "invite_to_wave"),
    ]:
        client.post(
            reverse(f"admin:surveys_{model}_changelist"),
            {
                "action": action,
                "_selected_action": [objects[model].pk],
                "post": "yes",
                "confirm": "yes",
            },
        )
    assert snapshot() == before
    assert mail.outbox == []


def test_wave_pages_and_their_actions_stay_in_the_admins_panels(client, surveys, moscow_admin):
    mow, yer_invitation = surveys
    login_with_second_factor(client, moscow_admin)
    wave = mow.wave.slug
    dashboard = client.get(reverse("admin:surveys_wave_dashboard"), {"wave": wave})
    panels_shown = {row.panel for row in dashboard.context["rows"]}
    assert mow.panel.code in panels_shown and "YER" not in panels_shown
    experts = client.get(reverse("admin:surveys_wave_experts"), {"wave": wave})
    assert yer_invitation.pk not in {row.invitation_id for row in experts.context["page"]}
    assert "Anna Hakobyan" not in experts.content.decode()
    before = snapshot()
    client.post(
        reverse("admin:surveys_wave_experts") + f"?wave={wave}",
        {"action": "reopen", "invitation": [yer_invitation.pk]},
    )
    for action in ("send_invitations", "send_reminders", "invite_all"):
        client.post(reverse("admin:surveys_wave_dashboard"), {"wave": wave, "action": action})
    assert Response.objects.get(panel=yer_invitation.expert.panel).status == "submitted"
    yer_after = json.loads(snapshot())
    yer_before = json.loads(before)
    assert [row for row in yer_after["invitations"] if row["id"] == yer_invitation.pk] == [
        row for row in yer_before["invitations"] if row["id"] == yer_invitation.pk
    ]
    assert not [m for m in mail.outbox if "anna@example.org" in m.to]


def test_import_into_another_panel_is_refused_whole(client, surveys, moscow_admin):
    mow, _yer = surveys
    login_with_second_factor(client, moscow_admin)
    data = (
        "name,email,panel,language,affiliation\n"
        f"New Moscow,new-mow@example.org,{mow.panel.code},ru,\n"
        "New Yerevan,new-yer@example.org,YER,ru,\n"
    ).encode()
    page = client.post(
        reverse("admin:surveys_expert_import"),
        {"file": SimpleUploadedFile("experts.csv", data, content_type="text/csv")},
    )
    assert "not one you administer" in page.content.decode()
    rows = expert_import.experts_csv_read(data=data)
    report = expert_import.experts_import(rows=rows, user=moscow_admin)
    assert report.imported == 0 and not report.is_valid
    assert Expert.objects.count() == 2


def test_adding_an_expert_to_another_panel_is_refused(client, surveys, moscow_admin):
    login_with_second_factor(client, moscow_admin)
    yer = Panel.objects.get(code="YER")
    page = client.post(
        reverse("admin:surveys_expert_add"),
        {
            "panel": yer.pk,
            "name": "Intruder",
            "email": "intruder@example.org",
            "language": "ru",
            "is_active": "on",
        },
    )
    assert page.status_code == 200  # the form again, with an error
    assert "Select a valid choice" in page.content.decode()
    assert Expert.objects.count() == 2


def test_services_refuse_another_panels_objects(surveys, moscow_admin):
    _mow, yer_invitation = surveys
    response = Response.objects.get(panel=yer_invitation.expert.panel)
    before = snapshot()
    with pytest.raises(PermissionDenied):
        panel_admin.response_reopen(response=response, user=moscow_admin)
    with pytest.raises(PermissionDenied):
        panel_admin.invitations_send(invitations=[yer_invitation], user=moscow_admin)
    with pytest.raises(PermissionDenied):
        panel_admin.reminders_send(invitations=[yer_invitation], user=moscow_admin)
    with pytest.raises(PermissionDenied):
        panel_admin.invitations_create_bulk(
            wave=yer_invitation.wave, experts=[yer_invitation.expert], user=moscow_admin
        )
    with pytest.raises(PermissionDenied):
        data_changes.responses_delete(responses=[response], user=moscow_admin)
    with pytest.raises(PermissionDenied):
        data_changes.ratings_delete(ratings=response.ratings.all(), user=moscow_admin)
    assert snapshot() == before
    assert not AuditEntry.objects.filter(user=moscow_admin).exists()


def test_only_a_superuser_assigns_panel_admins(client, surveys, moscow_admin):
    mow, _yer = surveys
    login_with_second_factor(client, moscow_admin)
    url = reverse("admin:surveys_panel_change", args=[mow.panel.pk])
    page = client.get(url)
    assert "admins" not in page.context["adminform"].form.fields
    client.post(url, {"code": mow.panel.code, "admins": [moscow_admin.pk]})
    client.post(
        reverse("admin:surveys_panel_change", args=[Panel.objects.get(code="YER").pk]),
        {"admins": [moscow_admin.pk]},
    )
    assert list(moscow_admin.administered_panels.all()) == [mow.panel]


def test_who_sees_identities_sees_no_per_response_record(client, surveys, moscow_admin):
    """Otherwise reopening or reminding an expert and watching which pseudonym changes
    would join the expert to their answers."""
    login_with_second_factor(client, moscow_admin)
    for model in ("response", "rating", "blockcomment"):
        assert client.get(reverse(f"admin:surveys_{model}_changelist")).status_code == 403


def test_a_superuser_opening_answers_is_audited(client, surveys):
    login_with_second_factor(client, User.objects.create_superuser("boss", password="pw"))
    client.get(reverse("admin:surveys_rating_changelist"))
    assert AuditEntry.objects.filter(action="answers.view", detail__page="rating").exists()
