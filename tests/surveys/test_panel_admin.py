"""Panel management: CSV import, bulk invitations, e-mail with limits, reopening, audit."""

import json
import logging
from datetime import UTC, datetime, timedelta
from unittest import mock

import pytest
from django.contrib.auth.models import Permission, User
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from surveys import expert_import, panel_admin, services, tasks
from surveys.models import AuditEntry, Expert, Invitation, Panel, Response, Wave
from surveys.texts.selectors import text_pick
from tests.conftest import login_with_second_factor
from tests.test_translations import SCRIPTS, foreign_script_letters

pytestmark = pytest.mark.django_db

HEADER = "name,email,panel,language,affiliation\n"


@pytest.fixture
def admin_user() -> User:
    return User.objects.create_superuser("boss", password="pw")


@pytest.fixture
def experts(panels) -> list[Expert]:
    return [
        services.expert_create(
            panel=panels["MOW"], name="Ivan Petrov", email="ivan@example.org", language="ru"
        ),
        services.expert_create(
            panel=panels["MOW"], name="Jane Smith", email="jane@example.org", language="en"
        ),
        services.expert_create(
            panel=panels["YER"], name="Anna Hakobyan", email="anna@example.org", language="hy"
        ),
    ]


@pytest.fixture
def invited(open_wave, experts, admin_user) -> list[Invitation]:
    panel_admin.invitations_create_bulk(wave=open_wave, experts=experts, user=admin_user)
    return list(Invitation.objects.filter(wave=open_wave).order_by("expert_id"))


def no_personal_data_in_audit() -> None:
    text = json.dumps(
        list(AuditEntry.objects.values("action", "object_type", "object_id", "detail")),
        ensure_ascii=False,
    )
    for expert in Expert.objects.all():
        assert expert.name not in text and expert.email not in text
    assert "@" not in text


# CSV reading ------------------------------------------------------------------------------------


def test_csv_read_accepts_bom_semicolons_and_skips_blank_lines():
    data = (
        "\ufeffname;email;panel;language;affiliation\nIvan Petrov;ivan@example.org;mow;RU;IMEMO\n\n"
    ).encode()
    rows = expert_import.experts_csv_read(data=data)
    assert rows == [
        expert_import.ExpertRow(2, "Ivan Petrov", "ivan@example.org", "MOW", "ru", "IMEMO")
    ]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (HEADER.encode(), "no expert"),
        (b"name,mail,panel,language,affiliation\nA,a@x.org,MOW,ru,\n", "must be the header"),
        (b"name,email,panel,language\nA,a@x.org,MOW,ru\n", "must be the header"),
        (HEADER.encode("utf-16"), "not UTF-8"),
        ((HEADER + "Иван,a@x.org,MOW,ru,\n").encode("cp1251"), "not UTF-8"),
        (HEADER.encode() + b'"unterminated,a@x.org,MOW,ru,\n', "not valid CSV"),
    ],
)
def test_csv_read_rejects_bad_files_as_a_whole(data, message):
    with pytest.raises(expert_import.ImportFileError, match=message):
        expert_import.experts_csv_read(data=data)


def test_csv_read_rejects_a_file_above_the_size_limit():
    line = "Somebody,somebody@example.org,MOW,ru,An institute\n"
    data = (HEADER + line * (expert_import.IMPORT_MAX_BYTES // len(line) + 1)).encode()
    with pytest.raises(expert_import.ImportFileError, match="at most 100 KB"):
        expert_import.experts_csv_read(data=data)


# Import check and import ------------------------------------------------------------------------


def test_import_check_reports_every_row_error_with_its_line(panels, experts, admin_user):
    data = (
        (
            HEADER + "Good One,good@example.org,MOW,ru,Institute\n"  # line 2
            ",missing-name@example.org,MOW,ru,\n"  # 3
            "Bad Mail,not-an-email,MOW,ru,\n"  # 4
            "No Panel,nopanel@example.org,XXX,ru,\n"  # 5
            "No Language,nolang@example.org,YER,de,\n"  # 6
            "Dup,GOOD@example.org,MOW,en,\n"  # 7: same e-mail and panel as line 2
            "Existing,Ivan@Example.org,MOW,ru,\n"  # 8: already on the Moscow panel
            "Other panel,ivan@example.org,YER,ru,\n"  # 9: fine, another panel
            "Too,few,fields\n"  # 10
        ).encode()
    )
    report = expert_import.experts_import_check(
        rows=expert_import.experts_csv_read(data=data), user=admin_user
    )
    errors = {check.row.line: check.errors for check in report.rows}
    assert errors[2] == () and errors[9] == ()
    assert errors[3] == ("The name is missing.",)
    assert errors[4] == ("The e-mail address is not valid.",)
    assert "Unknown panel “XXX”" in errors[5][0]
    assert "Unknown language “de”" in errors[6][0]
    assert errors[7] == ("The same e-mail and panel as line 2.",)
    assert errors[8] == ("This e-mail is already on panel MOW.",)
    assert errors[10] == ("3 fields instead of 5.",)
    assert not report.is_valid and report.error_count == 7


def test_one_bad_row_imports_nothing(panels, admin_user):
    rows = expert_import.experts_csv_read(
        data=(HEADER + "A B,ab@example.org,MOW,ru,\nC D,cd@example,MOW,ru,\n").encode()
    )
    report = expert_import.experts_import(rows=rows, user=admin_user)
    assert report.imported == 0 and report.error_count == 1
    assert not Expert.objects.exists()
    assert not AuditEntry.objects.filter(action="expert.import").exists()


def test_good_file_imports_all_rows_and_audits_counts_only(panels, admin_user):
    rows = expert_import.experts_csv_read(
        data=(
            HEADER + "A B,ab@example.org,MOW,ru,Inst\nC D,cd@example.org,YER,hy,\n"
            "E F,ef@example.org,MOW,en,\n"
        ).encode()
    )
    report = expert_import.experts_import(rows=rows, user=admin_user)
    assert report.imported == 3
    assert Expert.objects.filter(panel__code="MOW").count() == 2
    assert Expert.objects.with_email("cd@example.org").get().language == "hy"
    entry = AuditEntry.objects.get(action="expert.import")
    assert entry.user == admin_user and entry.detail == {
        "count": 3,
        "panels": {"MOW": 2, "YER": 1},
    }
    no_personal_data_in_audit()


def test_an_expert_starts_in_the_panels_language_unless_given_another(panels, admin_user):
    Panel.objects.filter(code="YER").update(language="hy")
    rows = expert_import.experts_csv_read(
        data=(HEADER + "A B,ab@example.org,YER,,\nC D,cd@example.org,YER,en,\n").encode()
    )
    assert expert_import.experts_import(rows=rows, user=admin_user).imported == 2
    assert Expert.objects.with_email("ab@example.org").get().language == "hy"
    assert Expert.objects.with_email("cd@example.org").get().language == "en"
    created = services.expert_create(
        panel=Panel.objects.get(code="YER"), name="E F", email="ef@example.org"
    )
    assert created.language == "hy"


def test_import_pages_preview_then_confirm(client, panels, admin_user):
    login_with_second_factor(client, admin_user)
    url = reverse("admin:surveys_expert_import")
    upload = SimpleUploadedFile(
        "experts.csv", (HEADER + "A B,ab@example.org,MOW,ru,\nC D,bad,YER,ru,\n").encode()
    )
    page = client.post(url, {"step": "preview", "file": upload}).content.decode()
    assert "1 of 2 rows have errors" in page and "The e-mail address is not valid." in page
    assert "Import 2 experts" not in page and not Expert.objects.exists()

    upload = SimpleUploadedFile("experts.csv", (HEADER + "A B,ab@example.org,MOW,ru,\n").encode())
    response = client.post(url, {"step": "preview", "file": upload})
    assert "Import 1 experts" in response.content.decode() and not Expert.objects.exists()
    payload = response.context["payload"]
    confirmed = client.post(url, {"step": "confirm", "payload": payload})
    assert confirmed.status_code == 302
    assert Expert.objects.get().email == "ab@example.org"
    # Confirming twice finds the duplicate and imports nothing more.
    again = client.post(url, {"step": "confirm", "payload": payload}).content.decode()
    assert "already on panel MOW" in again and Expert.objects.count() == 1
    tampered = client.post(url, {"step": "confirm", "payload": payload + "x"}).content.decode()
    assert "expired" in tampered


def test_import_page_rejects_a_large_file_with_a_clear_message(client, panels, admin_user):
    login_with_second_factor(client, admin_user)
    data = HEADER.encode() + b"x" * (expert_import.IMPORT_MAX_BYTES + 1)
    page = client.post(
        reverse("admin:surveys_expert_import"),
        {"step": "preview", "file": SimpleUploadedFile("big.csv", data)},
    ).content.decode()
    assert "at most 100 KB" in page and not Expert.objects.exists()


def test_import_needs_the_identity_permission(client, panels):
    user = User.objects.create_user("clerk", password="pw", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename__in=["add_expert", "view_expert"]))
    client.force_login(user)
    assert client.get(reverse("admin:surveys_expert_import")).status_code == 403


# Bulk invitations -------------------------------------------------------------------------------


def test_bulk_invitations_skip_the_invited_and_the_inactive(open_wave, experts, admin_user):
    services.invitation_create(expert=experts[0], wave=open_wave)
    experts[1].is_active = False
    experts[1].save()
    report = panel_admin.invitations_create_bulk(
        wave=open_wave, experts=Expert.objects.all(), user=admin_user
    )
    assert report == panel_admin.BulkInvitationReport(created=1, already_invited=1, inactive=1)
    invitation = Invitation.objects.get(expert=experts[2])
    assert invitation.language == "hy" and invitation.status == Invitation.Status.CREATED
    assert len(invitation.token_hash) == 64
    again = panel_admin.invitations_create_bulk(
        wave=open_wave, experts=Expert.objects.all(), user=admin_user
    )
    assert again.created == 0 and again.already_invited == 2
    entry = AuditEntry.objects.filter(action="invitation.create_bulk").first()
    assert entry.object_id == str(open_wave.pk) and entry.detail["created"] == 0


def test_bulk_invitations_refuse_a_closed_wave(open_wave, experts, admin_user):
    services.wave_close(wave=open_wave)
    with pytest.raises(services.WaveStateError):
        panel_admin.invitations_create_bulk(wave=open_wave, experts=experts, user=admin_user)
    assert not Invitation.objects.exists()


def test_bulk_invitations_from_the_expert_admin_action(client, open_wave, experts, admin_user):
    login_with_second_factor(client, admin_user)
    url = reverse("admin:surveys_expert_changelist")
    selected = [expert.pk for expert in experts]
    page = client.post(url, {"action": "invite_to_wave", "_selected_action": selected})
    assert "Create the invitations" in page.content.decode()
    done = client.post(
        url,
        {
            "action": "invite_to_wave",
            "_selected_action": selected,
            "wave": open_wave.pk,
            "apply": "1",
        },
        follow=True,
    )
    assert "3 invitations created" in done.content.decode()
    assert Invitation.objects.filter(wave=open_wave).count() == 3


# Sending ----------------------------------------------------------------------------------------


def test_sending_queues_tasks_after_commit_for_unsent_invitations_only(
    invited, admin_user, django_capture_on_commit_callbacks
):
    Invitation.objects.filter(pk=invited[0].pk).update(status=Invitation.Status.SENT)
    with mock.patch.object(tasks.send_invitation, "apply_async") as publish:
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            report = panel_admin.invitations_send(
                invitations=Invitation.objects.all(), user=admin_user
            )
        assert not publish.called  # nothing before the commit
        for callback in callbacks:
            callback()
    assert report.queued == 2 and report.skipped == {panel_admin.SKIP_ALREADY_SENT: 1}
    assert sorted(call.kwargs["args"][0] for call in publish.call_args_list) == [
        invited[1].pk,
        invited[2].pk,
    ]
    assert AuditEntry.objects.get(action="invitation.send").detail["queued"] == 2


def test_invitation_mail_has_a_working_link_in_the_experts_language(invited, settings, caplog):
    settings.SITE_URL = "https://survey.example.net/"
    caplog.set_level(logging.DEBUG)
    for invitation in invited:
        assert tasks.send_invitation(invitation.pk) is True
    russian, english, armenian = mail.outbox
    assert russian.subject.startswith("Приглашение") and "Уважаемый(ая) Ivan Petrov" in russian.body
    assert english.subject.startswith("Invitation") and "Dear Jane Smith" in english.body
    assert armenian.subject.startswith("Հրավեր") and "Հարգելի Anna Hakobyan" in armenian.body
    assert russian.to == ["ivan@example.org"]
    for message, invitation in zip(mail.outbox, invited, strict=True):
        token = message.body.split("https://survey.example.net/s/")[1].split("/")[0]
        invitation.refresh_from_db()
        assert services.token_hash(token) == invitation.token_hash  # the link works
        assert invitation.status == Invitation.Status.SENT and invitation.sent_at
        assert token not in caplog.text
    assert "ivan@example.org" not in caplog.text and "Ivan Petrov" not in caplog.text
    # A task delivered twice sends once.
    assert tasks.send_invitation(invited[0].pk) is False
    assert len(mail.outbox) == 3
    no_personal_data_in_audit()


GREETINGS = {
    "en": "Dear Anna Hakobyan,",
    "ru": "Уважаемый(ая) Anna Hakobyan!",
    "kk": "Құрметті Anna Hakobyan!",
    "hy": "Հարգելի Anna Hakobyan,",
    "ky": "Урматтуу Anna Hakobyan!",
    "tg": "Муҳтарам Anna Hakobyan!",
}
CLOSING_DATES = {
    "en": "15 December 2026",
    "ru": "15 декабря 2026 г.",
    "kk": "15.12.2026",
    "hy": "15.12.2026",
    "ky": "15.12.2026",
    "tg": "15.12.2026",
}


@pytest.mark.parametrize("kind", ["invitation", "reminder"])
@pytest.mark.parametrize("language", sorted(GREETINGS))
def test_every_language_has_its_own_invitation_and_reminder(invited, settings, language, kind):
    assert set(GREETINGS) == {code for code, _name in settings.LANGUAGES}
    invitation = invited[2]  # Anna Hakobyan, Yerevan panel
    invitation.language = language
    invitation.wave.closes_at = datetime(2026, 12, 15, 12, tzinfo=UTC)
    link = "https://survey.example.net/s/a-token/"
    assert panel_admin.email_language(language) == language
    subject, body = panel_admin.email_render(kind=kind, invitation=invitation, link=link)
    assert body.startswith(GREETINGS[language])
    title = text_pick(invitation.wave.text_map("title"), language).text
    assert title in subject and title in body
    assert f"\n\n{link}\n" in body and CLOSING_DATES[language] in body
    assert "{" not in subject + body and "%" not in subject + body
    if language in SCRIPTS:
        city = text_pick(invitation.expert.panel.text_map("city"), language).text
        text = subject + body
        for value in ("Anna Hakobyan", title, link, city):
            text = text.replace(value, "")
        assert not foreign_script_letters(text, SCRIPTS[language])


def test_no_invitation_mail_when_the_wave_is_not_open(invited):
    services.wave_close(wave=invited[0].wave)
    assert panel_admin.invitation_send(invitation_id=invited[0].pk) is False
    assert not mail.outbox


# Reminders --------------------------------------------------------------------------------------


def _sent(invitation: Invitation, *, at) -> Invitation:
    Invitation.objects.filter(pk=invitation.pk).update(status=Invitation.Status.SENT, sent_at=at)
    invitation.refresh_from_db()
    return invitation


def test_reminder_limit_gap_and_idempotence(invited, settings):
    settings.INVITATION_MAX_REMINDERS = 2
    settings.INVITATION_REMINDER_MIN_GAP_HOURS = 72
    start = timezone.now() - timedelta(days=30)
    invitation = _sent(invited[0], at=start)
    send = panel_admin.reminder_send

    assert send(invitation_id=invitation.pk, now=start + timedelta(hours=71)) is False
    assert send(invitation_id=invitation.pk, now=start + timedelta(hours=73)) is True
    assert send(invitation_id=invitation.pk, now=start + timedelta(hours=74)) is False  # gap
    assert send(invitation_id=invitation.pk, now=start + timedelta(hours=150)) is True
    assert send(invitation_id=invitation.pk, now=start + timedelta(days=20)) is False  # limit
    invitation.refresh_from_db()
    assert invitation.reminders_sent == 2
    assert invitation.last_reminder_at == start + timedelta(hours=150)
    assert len(mail.outbox) == 2
    assert mail.outbox[0].subject.startswith("Напоминание")
    token = mail.outbox[1].body.split("/s/")[1].split("/")[0]
    assert services.token_hash(token) == invitation.token_hash  # the newest link works
    assert [
        e.detail["reminder"]
        for e in AuditEntry.objects.filter(action="invitation.reminder_sent").order_by("pk")
    ] == [1, 2]


def test_reminders_queue_only_where_allowed(invited, admin_user, settings):
    settings.INVITATION_MAX_REMINDERS = 3
    now = timezone.now()
    due = _sent(invited[0], at=now - timedelta(days=5))
    too_soon = _sent(invited[1], at=now - timedelta(hours=1))
    never_sent = invited[2]
    with_limit = Invitation.objects.create(
        expert=services.expert_create(
            panel=due.expert.panel, name="Max Reminded", email="max@example.org"
        ),
        wave=due.wave,
        token_hash=services.token_new()[1],
        status=Invitation.Status.SENT,
        sent_at=now - timedelta(days=20),
        reminders_sent=3,
    )
    submitted = Invitation.objects.create(
        expert=services.expert_create(
            panel=due.expert.panel, name="Done Already", email="done@example.org"
        ),
        wave=due.wave,
        token_hash=services.token_new()[1],
        status=Invitation.Status.SUBMITTED,
        sent_at=now - timedelta(days=20),
    )
    report = panel_admin.reminders_send(
        invitations=[due, too_soon, never_sent, with_limit, submitted], user=admin_user, now=now
    )
    assert report.queued == 1
    assert report.skipped == {
        panel_admin.SKIP_TOO_SOON: 1,
        panel_admin.SKIP_NOT_SENT: 1,
        panel_admin.SKIP_LIMIT: 1,
        panel_admin.SKIP_SUBMITTED: 1,
    }


def test_a_started_response_can_be_reminded(invited):
    invitation = invited[0]
    Invitation.objects.filter(pk=invitation.pk).update(status=Invitation.Status.STARTED)
    assert panel_admin.reminder_send(invitation_id=invitation.pk) is True


# Reopening --------------------------------------------------------------------------------------


def test_reopen_sets_draft_and_started_and_is_audited(invited, admin_user):
    invitation = invited[0]
    response = Response.objects.create(
        wave=invitation.wave,
        panel=invitation.expert.panel,
        invitation=invitation,
        pseudonym=services.pseudonym_new(),
        status=Response.Status.SUBMITTED,
        submitted_at=timezone.now(),
    )
    Invitation.objects.filter(pk=invitation.pk).update(
        status=Invitation.Status.SUBMITTED, submitted_at=timezone.now()
    )
    reopened = panel_admin.response_reopen(response=response, user=admin_user)
    assert reopened.status == Response.Status.DRAFT and reopened.submitted_at is None
    invitation.refresh_from_db()
    assert invitation.status == Invitation.Status.STARTED and invitation.submitted_at is None
    entry = AuditEntry.objects.get(action="response.reopen")
    assert entry.object_type == "surveys.invitation" and entry.object_id == str(invitation.pk)
    assert entry.user == admin_user and "response" not in entry.detail
    with pytest.raises(Exception, match="Only a submitted response"):
        panel_admin.response_reopen(response=reopened, user=admin_user)


def test_reopen_refuses_a_closed_wave(invited, admin_user):
    invitation = invited[0]
    response = Response.objects.create(
        wave=invitation.wave,
        panel=invitation.expert.panel,
        invitation=invitation,
        pseudonym=services.pseudonym_new(),
        status=Response.Status.SUBMITTED,
        submitted_at=timezone.now(),
    )
    services.wave_close(wave=invitation.wave)
    with pytest.raises(services.WaveStateError):
        panel_admin.response_reopen(response=response, user=admin_user)
    response.refresh_from_db()
    assert response.status == Response.Status.SUBMITTED


# Waves and the audit log --------------------------------------------------------------------------


def test_wave_lifecycle_through_the_admin_is_audited(client, draft_wave, admin_user):
    login_with_second_factor(client, admin_user)
    client.post(
        reverse("admin:surveys_wave_changelist"),
        {"action": "open_waves", "_selected_action": [draft_wave.pk]},
    )
    client.post(
        reverse("admin:surveys_wave_dashboard"),
        {"wave": draft_wave.slug, "action": "close", "confirm": "yes"},
    )
    draft_wave.refresh_from_db()
    assert draft_wave.status == Wave.Status.CLOSED
    actions = list(AuditEntry.objects.order_by("pk").values_list("action", "user__username"))
    assert actions == [("wave.open", "boss"), ("wave.unlink", "boss"), ("wave.close", "boss")]


def test_expert_edits_in_the_admin_log_changes_as_references_not_values(
    client, experts, admin_user
):
    login_with_second_factor(client, admin_user)
    expert = experts[0]
    client.post(
        reverse("admin:surveys_expert_change", args=[expert.pk]),
        {
            "panel": expert.panel_id,
            "name": "Ivan Sidorov",
            "email": expert.email,
            "affiliation": "",
            "language": "ru",
            "other_languages": "",
            "is_active": "on",
        },
    )
    entry = AuditEntry.objects.get(action="expert.change")
    assert entry.detail["fields"] == ["name"]
    change = entry.detail["changes"]["name"]
    assert change["old"].startswith("ref:") and change["new"].startswith("ref:")
    assert change["old"] != change["new"]
    assert "Sidorov" not in str(entry.detail) and "Ivan" not in str(entry.detail)
    assert "Sidorov" not in json.dumps(entry.detail)


def test_audit_log_is_filterable_by_area_in_the_admin(client, invited, admin_user):
    login_with_second_factor(client, admin_user)
    panel_admin.wave_close(wave=invited[0].wave, user=admin_user)
    url = reverse("admin:surveys_auditentry_changelist")

    def shown(area: str) -> set[str]:
        result = client.get(url, {"area": area}).context["cl"].result_list
        return {entry.action for entry in result}

    assert shown("invitation") == {"invitation.create_bulk"}
    assert shown("wave") == {"wave.close", "wave.unlink"}
    no_personal_data_in_audit()


# The per-expert status page -----------------------------------------------------------------------


def test_status_page_is_pseudonymous_without_the_identity_permission(client, invited):
    user = User.objects.create_user("helper", password="pw", is_staff=True)
    user.user_permissions.set(
        Permission.objects.filter(codename__in=["view_invitation", "view_wave"])
    )
    user.administered_panels.set(Panel.objects.all())
    client.force_login(user)
    url = reverse("admin:surveys_wave_experts")
    page = client.get(url, {"wave": invited[0].wave.slug}).content.decode()
    assert f"#{invited[0].expert_id}" in page
    for expert in Expert.objects.all():
        assert expert.name not in page and expert.email not in page
    assert 'name="invitation"' not in page  # no actions without change_invitation
    user.user_permissions.add(Permission.objects.get(codename="view_expert_identity"))
    login_with_second_factor(client, User.objects.get(pk=user.pk))
    assert "Ivan Petrov" in client.get(url, {"wave": invited[0].wave.slug}).content.decode()


def test_status_page_actions_send_and_reopen(client, invited, admin_user):
    login_with_second_factor(client, admin_user)
    url = reverse("admin:surveys_wave_experts") + f"?wave={invited[0].wave.slug}"
    with mock.patch.object(tasks.send_invitation, "apply_async"):
        response = client.post(
            url,
            {
                "wave": invited[0].wave.slug,
                "action": "send_invitation",
                "invitation": [invited[0].pk, invited[1].pk],
                "confirm": "yes",
            },
            follow=True,
        )
    assert "2 e-mails queued." in response.content.decode()
