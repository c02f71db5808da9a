"""Running a panel: inviting experts, e-mailing links and reminders,
reopening responses, and the wave lifecycle as admins trigger it.

Every function here that an admin triggers writes one audit row (``surveys.audit``) with ids,
codes and counts only, never a name, an e-mail or a token. E-mail goes out from Celery tasks
(``surveys.tasks``) queued after the transaction commits; the task calls ``invitation_send``
or ``reminder_send``, which re-check everything under a row lock, so a task that runs twice
sends once.
"""

import logging
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.template import TemplateDoesNotExist
from django.template.loader import get_template
from django.utils import timezone, translation

from aggregation.scheduling import aggregation_queue_now
from surveys import linkage, questionnaire, services
from surveys.access import panel_assert_administered
from surveys.audit import audit_record
from surveys.models import Expert, Invitation, Response, Wave
from surveys.texts.selectors import text_pick

logger = logging.getLogger(__name__)

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
    context = {
        "name": expert.name,
        "wave_title": text_pick(invitation.wave.text_map("title"), language),
        "closes_at": invitation.wave.closes_at,
        "city": text_pick(expert.panel.text_map("city"), language),
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
