"""Running a panel: importing experts, inviting them, e-mailing links and reminders,
reopening responses, and the wave lifecycle as admins trigger it.

Every function here that an admin triggers writes one audit row (``surveys.audit``) with ids,
codes and counts only, never a name, an e-mail or a token. E-mail goes out from Celery tasks
(``surveys.tasks``) queued after the transaction commits; the task calls ``invitation_send``
or ``reminder_send``, which re-check everything under a row lock, so a task that runs twice
sends once.
"""

import csv
import io
import logging
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.template import TemplateDoesNotExist
from django.template.loader import get_template
from django.utils import timezone, translation

from aggregation.scheduling import aggregation_queue_now
from surveys import linkage, questionnaire, services
from surveys.access import panel_assert_administered, panel_ids_administered
from surveys.audit import audit_record
from surveys.identity_crypto import blind_index
from surveys.models import Expert, Invitation, Panel, Response, Wave

logger = logging.getLogger(__name__)

# Importing experts ---------------------------------------------------------------------------

IMPORT_COLUMNS = ("name", "email", "panel", "language", "affiliation")
IMPORT_MAX_BYTES = 100 * 1024
IMPORT_MAX_ROWS = 2000
NAME_MAX_LENGTH = Expert._meta.get_field("name").max_length
EMAIL_MAX_LENGTH = Expert._meta.get_field("email").max_length
AFFILIATION_MAX_LENGTH = Expert._meta.get_field("affiliation").max_length


class ImportFileError(ValueError):
    """The file as a whole cannot be read: too large, not UTF-8 text, wrong header, empty."""


@dataclass(frozen=True)
class ExpertRow:
    """One data row of an expert CSV file; ``line`` is its line number in the file."""

    line: int
    name: str
    email: str
    panel: str
    language: str
    affiliation: str = ""
    field_count: int = len(IMPORT_COLUMNS)


@dataclass(frozen=True)
class RowCheck:
    row: ExpertRow
    errors: tuple[str, ...] = ()


@dataclass(frozen=True)
class ImportReport:
    """The checked rows of an import; ``imported`` counts the experts created (0 or all)."""

    rows: tuple[RowCheck, ...] = ()
    file_errors: tuple[str, ...] = ()
    imported: int = 0

    @property
    def is_valid(self) -> bool:
        return bool(self.rows) and not self.file_errors and not self.error_count

    @property
    def error_count(self) -> int:
        return sum(1 for check in self.rows if check.errors)


def experts_csv_size_check(*, size: int) -> None:
    """Raise ``ImportFileError`` for a file above ``IMPORT_MAX_BYTES`` (before reading it)."""
    if size > IMPORT_MAX_BYTES:
        raise ImportFileError(
            f"The file has {size / 1024:.0f} KB; at most {IMPORT_MAX_BYTES // 1024} KB "
            f"(about {IMPORT_MAX_ROWS} experts) can be imported at once. Split it into parts."
        )


def experts_csv_read(*, data: bytes) -> list[ExpertRow]:
    """Parse an expert CSV file (UTF-8 with or without BOM, comma- or semicolon-separated).

    The header must be exactly ``name,email,panel,language,affiliation``. Raises
    ``ImportFileError`` for a problem of the whole file; row problems are left to
    ``experts_import_check``, except a row with the wrong number of fields, which is kept with
    its fields empty so that the check reports it at its line.
    """
    experts_csv_size_check(size=len(data))
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ImportFileError(
            "The file is not UTF-8 text. Save it as “CSV UTF-8” and upload it again."
        ) from error
    if "\x00" in text:
        raise ImportFileError("The file is not a CSV text file.")
    first_line = text.split("\n", 1)[0]
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        header = next(reader, None)
        if header is None or not any(cell.strip() for cell in header):
            raise ImportFileError("The file is empty.")
        names = tuple(cell.strip().lower() for cell in header)
        if names != IMPORT_COLUMNS:
            raise ImportFileError(
                "The first line must be the header "
                f"“{','.join(IMPORT_COLUMNS)}”; it is “{','.join(names)}”."
            )
        rows = []
        for cells in reader:
            if not any(cell.strip() for cell in cells):
                continue  # blank lines are skipped
            if len(rows) >= IMPORT_MAX_ROWS:
                raise ImportFileError(f"At most {IMPORT_MAX_ROWS} experts per file.")
            if len(cells) != len(IMPORT_COLUMNS):
                rows.append(ExpertRow(reader.line_num, "", "", "", "", "", len(cells)))
                continue
            name, email, panel, language, affiliation = (cell.strip() for cell in cells)
            rows.append(
                ExpertRow(
                    line=reader.line_num,
                    name=name,
                    email=email,
                    panel=panel.upper(),
                    language=language.lower(),
                    affiliation=affiliation,
                )
            )
    except csv.Error as error:
        raise ImportFileError(f"The file is not valid CSV (line {reader.line_num}).") from error
    if not rows:
        raise ImportFileError("The file has a header but no expert.")
    return rows


def _row_errors(row: ExpertRow, *, panels: dict[str, Panel], languages: set[str]) -> list[str]:
    if row.field_count != len(IMPORT_COLUMNS):
        return [f"{row.field_count} fields instead of {len(IMPORT_COLUMNS)}."]
    errors = []
    if not row.name:
        errors.append("The name is missing.")
    elif len(row.name) > NAME_MAX_LENGTH:
        errors.append(f"The name is longer than {NAME_MAX_LENGTH} characters.")
    if not row.email:
        errors.append("The e-mail address is missing.")
    else:
        try:
            validate_email(row.email)
        except ValidationError:
            errors.append("The e-mail address is not valid.")
        if len(row.email) > EMAIL_MAX_LENGTH:
            errors.append(f"The e-mail address is longer than {EMAIL_MAX_LENGTH} characters.")
    if row.panel not in panels:
        known = ", ".join(sorted(panels)) or "none"
        errors.append(f"Unknown panel “{row.panel}”, or not one you administer (yours: {known}).")
    if row.language not in languages:
        errors.append(f"Unknown language “{row.language}” (one of {', '.join(sorted(languages))}).")
    if len(row.affiliation) > AFFILIATION_MAX_LENGTH:
        errors.append(f"The affiliation is longer than {AFFILIATION_MAX_LENGTH} characters.")
    return errors


def _panels_of(user) -> dict[str, Panel]:
    panel_ids = panel_ids_administered(user)
    panels = Panel.objects.all() if panel_ids is None else Panel.objects.filter(pk__in=panel_ids)
    return {panel.code: panel for panel in panels}


def experts_import_check(*, rows: Sequence[ExpertRow], user) -> ImportReport:
    """Check every row (the preview): fields, panel (one that ``user`` administers),
    language, duplicates in the file and against the experts already on the panel (e-mails
    compared case-insensitively, through the blind index).

    Three queries whatever the number of rows; writes nothing.
    """
    panels = _panels_of(user)
    languages = {code for code, _name in settings.LANGUAGES}
    indexes = [blind_index(row.email) if row.email else "" for row in rows]
    existing = set(
        Expert.objects.filter(email_blind_index__in=set(indexes) - {""}).values_list(
            "panel__code", "email_blind_index"
        )
    )
    first_line: dict[tuple[str, str], int] = {}
    checks = []
    for row, index in zip(rows, indexes, strict=True):
        errors = _row_errors(row, panels=panels, languages=languages)
        key = (row.panel, index)
        if row.email and row.panel in panels:
            if key in first_line:
                errors.append(f"The same e-mail and panel as line {first_line[key]}.")
            else:
                first_line[key] = row.line
            if key in existing:
                errors.append(f"This e-mail is already on panel {row.panel}.")
        checks.append(RowCheck(row=row, errors=tuple(errors)))
    return ImportReport(rows=tuple(checks))


def experts_import(*, rows: Sequence[ExpertRow], user) -> ImportReport:
    """Create the experts of the rows, all or none: any bad row and nothing is imported.

    The rows are checked again inside the transaction (the preview may be stale); a
    concurrent import of the same e-mail makes the unique constraint fail and rolls back.
    """
    try:
        with transaction.atomic():
            report = experts_import_check(rows=rows, user=user)
            if not report.is_valid:
                return report
            panels = _panels_of(user)
            Expert.objects.bulk_create(
                Expert(
                    panel=panels[row.panel],
                    name=row.name,
                    email=row.email,
                    language=row.language,
                    affiliation=row.affiliation,
                )
                for row in rows
            )
            per_panel = Counter(row.panel for row in rows)
            audit_record(
                user=user,
                action="expert.import",
                detail={"count": len(rows), "panels": dict(sorted(per_panel.items()))},
            )
    except IntegrityError:
        return replace(
            experts_import_check(rows=rows, user=user),
            file_errors=(
                "Another import added some of these experts meanwhile; nothing was "
                "imported. Check the file again.",
            ),
        )
    return replace(report, imported=len(rows))


# Invitations ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class BulkInvitationReport:
    created: int
    already_invited: int
    inactive: int


@transaction.atomic
def invitations_create_bulk(*, wave: Wave, experts: Iterable[Expert], user) -> BulkInvitationReport:
    """Invite experts to a wave: one invitation each, skipping the inactive and those already
    invited. The tokens are not kept: sending an invitation issues a fresh one."""
    wave = Wave.objects.select_for_update().get(pk=wave.pk)
    if wave.status == Wave.Status.CLOSED:
        raise services.WaveStateError(
            f"Wave “{wave.slug}” is closed; nobody can be invited to it.", code="wave_closed"
        )
    experts = list(experts)
    for panel_id in {expert.panel_id for expert in experts}:
        panel_assert_administered(user=user, panel_id=panel_id)
    invited = set(
        Invitation.objects.filter(wave=wave, expert__in=experts).values_list("expert_id", flat=True)
    )
    inactive = [expert for expert in experts if not expert.is_active]
    new = [expert for expert in experts if expert.is_active and expert.pk not in invited]
    Invitation.objects.bulk_create(
        Invitation(
            expert=expert, wave=wave, token_hash=services.token_new()[1], language=expert.language
        )
        for expert in new
    )
    report = BulkInvitationReport(
        created=len(new), already_invited=len(invited), inactive=len(inactive)
    )
    audit_record(
        user=user,
        action="invitation.create_bulk",
        obj=wave,
        detail={
            "created": report.created,
            "already_invited": report.already_invited,
            "inactive": report.inactive,
        },
    )
    return report


@dataclass(frozen=True)
class SendReport:
    """How many e-mails were queued, and why the others were not (reason → count)."""

    queued: int
    skipped: dict[str, int] = field(default_factory=dict)


SKIP_WAVE_NOT_OPEN = "the wave is not open"
SKIP_INACTIVE = "the expert is inactive"
SKIP_ALREADY_SENT = "already sent or answered (use a reminder)"
SKIP_NOT_SENT = "no invitation sent yet"
SKIP_SUBMITTED = "already submitted"
SKIP_LIMIT = "reminder limit reached"
SKIP_TOO_SOON = "too soon after the last e-mail"


def reminder_gap() -> timedelta:
    return timedelta(hours=settings.INVITATION_REMINDER_MIN_GAP_HOURS)


def invitation_send_blocker(*, invitation: Invitation) -> str | None:
    """Why the invitation e-mail may not go out now, or None."""
    if invitation.wave.status != Wave.Status.OPEN:
        return SKIP_WAVE_NOT_OPEN
    if not invitation.expert.is_active:
        return SKIP_INACTIVE
    if invitation.status != Invitation.Status.CREATED:
        return SKIP_ALREADY_SENT
    return linkage.reissue_blocker(invitation=invitation)


def reminder_blocker(*, invitation: Invitation, now: datetime) -> str | None:
    """Why a reminder may not go out now, or None.

    A reminder goes to an expert who has the invitation (e-mailed, or the link opened) and has
    not submitted, at most ``INVITATION_MAX_REMINDERS`` times, and no sooner than
    ``INVITATION_REMINDER_MIN_GAP_HOURS`` after the last e-mail (invitation or reminder).
    """
    if invitation.wave.status != Wave.Status.OPEN:
        return SKIP_WAVE_NOT_OPEN
    if not invitation.expert.is_active:
        return SKIP_INACTIVE
    if invitation.status == Invitation.Status.SUBMITTED:
        return SKIP_SUBMITTED
    if invitation.status == Invitation.Status.CREATED:
        return SKIP_NOT_SENT
    if invitation.reminders_sent >= settings.INVITATION_MAX_REMINDERS:
        return SKIP_LIMIT
    last = max(
        (moment for moment in (invitation.sent_at, invitation.last_reminder_at) if moment),
        default=None,
    )
    if last is not None and now - last < reminder_gap():
        return SKIP_TOO_SOON
    return linkage.reissue_blocker(invitation=invitation)


def _queue(task_name: str, invitation_ids: list[int]) -> None:
    """Publish one task per invitation once the transaction commits.

    A broker that is down is logged and the rest is given up: nothing was marked as sent, so
    the admin can send again later.
    """

    def publish() -> None:
        from surveys import tasks  # the tasks import this module

        task = getattr(tasks, task_name)
        for position, invitation_id in enumerate(invitation_ids):
            try:
                task.apply_async(args=[invitation_id], retry=False)
            except Exception as error:  # any broker failure
                logger.warning(
                    "Broker unreachable (%s): %s of %s %s tasks not queued.",
                    type(error).__name__,
                    len(invitation_ids) - position,
                    len(invitation_ids),
                    task_name,
                )
                return

    if invitation_ids:
        transaction.on_commit(publish)


def _with_wave_and_expert(invitations: Iterable[Invitation], *, user) -> list[Invitation]:
    """The invitations with their wave and expert; refused whole if one is of a panel that
    ``user`` does not administer."""
    ids = [invitation.pk for invitation in invitations]
    chosen = list(
        Invitation.objects.filter(pk__in=ids).select_related("wave", "expert").order_by("pk")
    )
    for panel_id in {invitation.expert.panel_id for invitation in chosen}:
        panel_assert_administered(user=user, panel_id=panel_id)
    return chosen


@transaction.atomic
def invitations_send(*, invitations: Iterable[Invitation], user) -> SendReport:
    """Queue the invitation e-mail of every invitation not sent yet (open wave, active
    expert). Two queries whatever the number; the e-mails go out from Celery."""
    chosen = _with_wave_and_expert(invitations, user=user)
    skipped: Counter[str] = Counter()
    ids = []
    for invitation in chosen:
        blocker = invitation_send_blocker(invitation=invitation)
        if blocker:
            skipped[blocker] += 1
        else:
            ids.append(invitation.pk)
    _queue("send_invitation", ids)
    report = SendReport(queued=len(ids), skipped=dict(skipped))
    audit_record(
        user=user,
        action="invitation.send",
        detail={
            "queued": report.queued,
            "skipped": sum(skipped.values()),
            "waves": sorted({invitation.wave_id for invitation in chosen}),
        },
    )
    return report


@transaction.atomic
def reminders_send(
    *, invitations: Iterable[Invitation], user, now: datetime | None = None
) -> SendReport:
    """Queue a reminder for every chosen invitation that may have one now
    (``reminder_blocker``); the task checks again before it sends."""
    now = now or timezone.now()
    chosen = _with_wave_and_expert(invitations, user=user)
    skipped: Counter[str] = Counter()
    ids = []
    for invitation in chosen:
        blocker = reminder_blocker(invitation=invitation, now=now)
        if blocker:
            skipped[blocker] += 1
        else:
            ids.append(invitation.pk)
    _queue("send_reminder", ids)
    report = SendReport(queued=len(ids), skipped=dict(skipped))
    audit_record(
        user=user,
        action="invitation.remind",
        detail={
            "queued": report.queued,
            "skipped": sum(skipped.values()),
            "waves": sorted({invitation.wave_id for invitation in chosen}),
        },
    )
    return report


# E-mail ----------------------------------------------------------------------------------------

EMAIL_TEMPLATE_DIR = "surveys/email"


def email_language(language: str) -> str:
    """The language the e-mail is written in: the expert's, else Russian, else English."""
    for code in (language, *settings.LANGUAGE_FALLBACKS):
        try:
            get_template(f"{EMAIL_TEMPLATE_DIR}/{code}/invitation_body.txt")
        except TemplateDoesNotExist:
            continue
        return code
    return "en"


def email_render(*, kind: str, invitation: Invitation, link: str) -> tuple[str, str]:
    """Subject and body of an ``invitation`` or ``reminder`` e-mail in the expert's language."""
    language = email_language(invitation.language)
    expert = invitation.expert
    panel = expert.panel
    context = {
        "name": expert.name,
        "wave_title": invitation.wave.title,
        "closes_at": invitation.wave.closes_at,
        "city": panel.city_ru if language == "ru" else panel.city_en,
        "link": link,
        "reminder_number": invitation.reminders_sent + 1,
    }
    with translation.override(language):
        subject = get_template(f"{EMAIL_TEMPLATE_DIR}/{language}/{kind}_subject.txt").render(
            context
        )
        body = get_template(f"{EMAIL_TEMPLATE_DIR}/{language}/{kind}_body.txt").render(context)
    return " ".join(subject.split()), body


def invitation_link(token: str) -> str:
    return f"{settings.SITE_URL.rstrip('/')}/s/{token}/"


def _locked_invitation(invitation_id: int) -> Invitation | None:
    return (
        Invitation.objects.select_for_update(of=("self",))
        .select_related("wave", "expert__panel")
        .filter(pk=invitation_id)
        .first()
    )


def _mail(*, kind: str, invitation: Invitation) -> None:
    """Issue a fresh token (the previous link stops working) and e-mail the new link.

    The address rules of ``linkage`` hold here too, whoever queued the e-mail: a link to an
    answered response goes only to the address it was started with, or to an approved one
    (and then the old address is told).
    """
    if linkage.reissue_blocker(invitation=invitation):
        raise PermissionDenied(linkage.REISSUE_NEEDS_APPROVAL)
    linkage.reissue_notice_send(invitation=invitation)
    token = services.invitation_reissue_token(invitation=invitation)
    subject, body = email_render(kind=kind, invitation=invitation, link=invitation_link(token))
    send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [invitation.expert.email])


@transaction.atomic
def invitation_send(*, invitation_id: int, now: datetime | None = None) -> bool:
    """E-mail the invitation (a Celery task's work). Returns False when there was nothing to
    send: already sent, wave not open, expert inactive or invitation gone.

    The token is re-issued, mailed and the invitation marked sent in one transaction: if the
    mail fails, nothing changes and the task retries.
    """
    invitation = _locked_invitation(invitation_id)
    if invitation is None or invitation_send_blocker(invitation=invitation):
        return False
    now = now or timezone.now()
    _mail(kind="invitation", invitation=invitation)
    invitation.status = Invitation.Status.SENT
    invitation.sent_at = now
    invitation.save(update_fields=["status", "sent_at"])
    audit_record(
        user=None,
        action="invitation.email_sent",
        obj=invitation,
        detail={"changes": {"status": {"old": "created", "new": "sent"}}},
    )
    logger.info("Invitation %s e-mailed.", invitation.pk)
    return True


@transaction.atomic
def reminder_send(*, invitation_id: int, now: datetime | None = None) -> bool:
    """E-mail a reminder (a Celery task's work) if ``reminder_blocker`` allows it now.

    Returns False otherwise, so a task delivered twice sends one reminder (the second finds
    the gap not yet passed).
    """
    now = now or timezone.now()
    invitation = _locked_invitation(invitation_id)
    if invitation is None or reminder_blocker(invitation=invitation, now=now):
        return False
    _mail(kind="reminder", invitation=invitation)
    invitation.reminders_sent += 1
    invitation.last_reminder_at = now
    invitation.save(update_fields=["reminders_sent", "last_reminder_at"])
    audit_record(
        user=None,
        action="invitation.reminder_sent",
        obj=invitation,
        detail={
            "reminder": invitation.reminders_sent,
            "changes": {
                "reminders_sent": {
                    "old": invitation.reminders_sent - 1,
                    "new": invitation.reminders_sent,
                }
            },
        },
    )
    logger.info("Reminder %s of invitation %s e-mailed.", invitation.reminders_sent, invitation.pk)
    return True


# Responses and waves -----------------------------------------------------------------------------


@transaction.atomic
def response_reopen(*, response: Response, user) -> Response:
    """Unlock a submitted response for its expert (back to draft, the invitation back to
    started, the wave re-aggregated); only while the wave is open, since the link works only
    then."""
    panel_assert_administered(user=user, panel_id=response.panel_id)
    wave = Wave.objects.get(pk=response.wave_id)
    if wave.status != Wave.Status.OPEN:
        raise services.WaveStateError(
            f"Wave “{wave.slug}” is {wave.get_status_display()}: its responses cannot be reopened.",
            code="wave_not_open",
        )
    if response.status != Response.Status.SUBMITTED:
        raise ValidationError("Only a submitted response can be reopened.", code="not_submitted")
    invitation = Invitation.objects.filter(pk=response.invitation_id).first()
    response = questionnaire.response_reopen(response=response)
    # Recorded against the invitation the admin chose (by expert), never the response: an
    # audit row holding both, or a response id beside an admin's action on an expert,
    # would join the expert to their answers.
    audit_record(
        user=user,
        action="response.reopen",
        obj=invitation,
        detail={"wave": wave.pk, "changes": {"status": {"old": "submitted", "new": "draft"}}},
    )
    return response


@transaction.atomic
def wave_open(*, wave: Wave, user) -> Wave:
    wave = services.wave_open(wave=wave)
    audit_record(
        user=user,
        action="wave.open",
        obj=wave,
        detail={"changes": {"status": {"old": "draft", "new": "open"}}},
    )
    return wave


@transaction.atomic
def wave_close(*, wave: Wave, user) -> Wave:
    wave = services.wave_close(wave=wave, user=user)
    audit_record(
        user=user,
        action="wave.close",
        obj=wave,
        detail={"changes": {"status": {"old": "open", "new": "closed"}}},
    )
    return wave


def wave_aggregate_now(*, wave: Wave, user) -> bool:
    """Request aggregation of the wave at once; False when the broker is unreachable (the
    request is kept and sent when it is back)."""
    queued = aggregation_queue_now(wave_id=wave.pk)
    audit_record(user=user, action="wave.aggregate", obj=wave, detail={"queued": queued})
    return queued
