"""The link between a response and its expert: who may use it, and when it is cut.

A response is stored under a pseudonym with its wave and panel. While its wave is open it
also points to its invitation (``Response.invitation``), and so to the expert, because three
services need that: resuming from the link, reopening a submitted response, and reminders.
Nothing else follows the link, and no page shows a response's answers next to an identity.

* **Re-issuing a link.** Every e-mail to an expert issues a fresh token. Once the response
  has answers, the new link may only go to the address the response was started with
  (``Invitation.started_email``): an admin who changes an expert's e-mail and re-sends the
  link would otherwise receive the expert's answers pre-filled. If the address changed, a
  superuser approves the new one (``reissue_approve``, audited), and a notice goes to the
  old address.
* **Cutting the link.** When a wave closes (``responses_unlink``, called by
  ``services.wave_close``; ``manage.py unlink_responses`` for a wave closed before), each
  response loses its invitation and the invitations lose every timestamp that could be
  matched against a response's (e-mailed, opened, submitted, reminded) and the recorded
  address.
  From then on no row, key or log joins a response to an expert.
"""

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.utils.translation import gettext as _

from surveys.audit import audit_record
from surveys.identity_crypto import blind_index
from surveys.middleware import language_override
from surveys.models import (
    AppliedBlockChange,
    BlockComment,
    Invitation,
    Rating,
    Response,
    Wave,
)

REISSUE_NEEDS_APPROVAL = (
    "the e-mail changed since the response was started; a superuser must approve"
)


def response_has_answers(*, response_id: int) -> bool:
    return (
        Rating.objects.filter(response_id=response_id).exists()
        or BlockComment.objects.filter(response_id=response_id).exists()
    )


def started_email_record(*, invitation: Invitation) -> None:
    """Remember the address the expert started their response with (on consent)."""
    if invitation.started_email:
        return
    email = invitation.expert.email
    Invitation.objects.filter(pk=invitation.pk, started_email__isnull=True).update(
        started_email=email
    )
    invitation.started_email = email


def _answered_response_id(invitation: Invitation) -> int | None:
    response_id = (
        Response.objects.filter(invitation_id=invitation.pk).values_list("pk", flat=True).first()
    )
    if response_id is None or not response_has_answers(response_id=response_id):
        return None
    return response_id


def reissue_blocker(*, invitation: Invitation) -> str | None:
    """Why a fresh link may not be e-mailed to the expert's current address, or None.

    None when the response has no answers yet, or the address is the one the response was
    started with, or a superuser approved exactly this address.
    """
    if _answered_response_id(invitation) is None:
        return None
    current = blind_index(invitation.expert.email)
    if not invitation.started_email:
        # The address was not recorded: only an approved address may get the link.
        return None if invitation.reissue_approved_index == current else REISSUE_NEEDS_APPROVAL
    if current == blind_index(invitation.started_email):
        return None
    if invitation.reissue_approved_index == current:
        return None
    return REISSUE_NEEDS_APPROVAL


def reissue_notice_send(*, invitation: Invitation) -> None:
    """Tell the old address that the link now goes to another one (after an approval)."""
    old = invitation.started_email
    if not old or blind_index(old) == blind_index(invitation.expert.email):
        return
    with language_override(invitation.language):  # the expert's language, as their e-mails
        subject = _("Your survey link was sent to a new address")
        body = _(
            "The link to your answers in the survey “%(wave)s” was sent to a new e-mail "
            "address at the request of the survey's administrators. If you did not ask for "
            "this, reply to this message."
        ) % {"wave": invitation.wave.title}
    send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [old])
    Invitation.objects.filter(pk=invitation.pk).update(
        started_email=invitation.expert.email, reissue_approved_index=""
    )


@transaction.atomic
def reissue_approve(*, invitation: Invitation, user) -> Invitation:
    """A superuser allows the link of an answered response to go to the expert's new address.

    The audit row holds blind-index references of the old and new address, never the
    addresses themselves.
    """
    if not getattr(user, "is_superuser", False):
        raise PermissionDenied(_("Only a superuser can approve sending a link to a new address."))
    invitation = (
        Invitation.objects.select_for_update(of=("self",))
        .select_related("expert", "wave")
        .get(pk=invitation.pk)
    )
    if reissue_blocker(invitation=invitation) is None:
        raise ValidationError(
            _("Nothing to approve: the link may already go to the expert's address."),
            code="reissue_not_needed",
        )
    new_index = blind_index(invitation.expert.email)
    invitation.reissue_approved_index = new_index
    invitation.save(update_fields=["reissue_approved_index"])
    audit_record(
        user=user,
        action="invitation.reissue_approve",
        obj=invitation,
        detail={
            "changes": {
                "email": {"old": blind_index(invitation.started_email)[:16], "new": new_index[:16]}
            }
        },
    )
    return invitation


def responses_unlink(*, wave: Wave, user=None) -> int:
    """Cut every response of a closed wave from its invitation, for good. Returns how many.

    Also clears what the invitations held that could be matched to a response: the e-mailed,
    opened, submitted and reminder times, the reminder count and the recorded address, and
    the responses' record of their last page changes (times on the experts' devices). The
    status (submitted or not) stays, for the panel's response rate.
    """
    if wave.status != Wave.Status.CLOSED:
        raise ValidationError(
            _("Wave “%(wave)s” is still open: its responses stay linked until it closes.")
            % {"wave": wave.slug},
            code="wave_not_closed",
        )
    unlinked = Response.objects.filter(wave=wave, invitation__isnull=False).update(invitation=None)
    Invitation.objects.filter(wave=wave).update(
        sent_at=None,
        opened_at=None,
        submitted_at=None,
        reminders_sent=0,
        last_reminder_at=None,
        started_email=None,
        reissue_approved_index="",
    )
    AppliedBlockChange.objects.filter(response__wave=wave).delete()
    audit_record(user=user, action="wave.unlink", obj=wave, detail={"responses": unlinked})
    return unlinked
