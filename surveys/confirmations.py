"""What a wave-wide action will do, said before it is done.

Closing a wave and every mass e-mail ask for a confirmation page first. The page states the
action in a sentence with the numbers it will touch, counted here (within the admin's panels),
so that the view only passes them on.
"""

from dataclasses import dataclass

from django.db.models import QuerySet

from surveys.access import panels_scope
from surveys.models import Expert, Invitation, Response, Wave


@dataclass(frozen=True)
class ActionPreview:
    title: str
    sentence: str
    button: str


def _invitations(*, wave: Wave, user, statuses: list[str], ids=None) -> QuerySet:
    invitations = Invitation.objects.filter(wave=wave, status__in=statuses)
    if ids is not None:
        invitations = invitations.filter(pk__in=ids)
    return panels_scope(invitations, user=user, panel_field="expert__panel")


def wave_action_preview(*, wave: Wave, action: str, user, invitation_ids=None) -> ActionPreview:
    """The confirmation text of a dashboard or expert-status action on ``wave``.

    ``invitation_ids`` narrows the e-mail actions to experts selected on the status page.
    """
    sent_or_started = [Invitation.Status.SENT, Invitation.Status.STARTED]
    if action == "close":
        drafts = Response.objects.filter(wave=wave, status=Response.Status.DRAFT).count()
        submitted = Response.objects.filter(wave=wave, status=Response.Status.SUBMITTED).count()
        return ActionPreview(
            title=f"Close the wave “{wave.title}”?",
            sentence=(
                f"Every link of this wave stops working at once. {submitted} submitted "
                f"responses are kept; {drafts} responses still in draft stay as they are and "
                "can no longer be finished. The responses are cut from their experts for "
                "good. A closed wave cannot be opened again."
            ),
            button="Yes, close the wave",
        )
    if action in ("send_invitations", "send_invitation"):
        count = _invitations(
            wave=wave, user=user, statuses=[Invitation.Status.CREATED], ids=invitation_ids
        ).count()
        return ActionPreview(
            title="E-mail the invitations?",
            sentence=(
                f"{count} experts of your panels who have not had their invitation yet will "
                "get it by e-mail now, each with a fresh personal link."
            ),
            button=f"Yes, e-mail {count} invitations",
        )
    if action in ("send_reminders", "send_reminder"):
        count = _invitations(
            wave=wave, user=user, statuses=sent_or_started, ids=invitation_ids
        ).count()
        return ActionPreview(
            title="E-mail reminders?",
            sentence=(
                f"Up to {count} experts of your panels who have not submitted will get a "
                "reminder with a fresh link (the limits on number and spacing still apply); "
                "their previous link stops working."
            ),
            button="Yes, e-mail the reminders",
        )
    if action == "invite_all":
        experts = panels_scope(
            Expert.objects.filter(panel__blocks__wave=wave, is_active=True).distinct(), user=user
        )
        count = experts.exclude(invitations__wave=wave).count()
        return ActionPreview(
            title="Invite every active expert?",
            sentence=(
                f"{count} active experts of your panels are not invited to this wave yet; an "
                "invitation is created for each. No e-mail goes out until you send them."
            ),
            button=f"Yes, create {count} invitations",
        )
    raise ValueError(f"No confirmation for the action “{action}”.")


def selected_invitations_preview(*, action: str, count: int) -> ActionPreview:
    """The confirmation text of the invitation list's e-mail actions on ``count`` rows."""
    if action == "send_invitations":
        return ActionPreview(
            title="E-mail the invitations?",
            sentence=(
                f"The {count} selected invitations that have not been sent yet go out by e-mail "
                "now, each with a fresh personal link."
            ),
            button="Yes, e-mail the invitations",
        )
    return ActionPreview(
        title="E-mail reminders?",
        sentence=(
            f"The experts of the {count} selected invitations who may have a reminder now get "
            "one, with a fresh link; their previous link stops working."
        ),
        button="Yes, e-mail the reminders",
    )


def waves_close_preview(*, waves: list[Wave], user) -> ActionPreview:
    """The confirmation text of closing the waves selected in the wave list."""
    if len(waves) == 1:
        return wave_action_preview(wave=waves[0], action="close", user=user)
    names = ", ".join(wave.slug for wave in waves)
    return ActionPreview(
        title=f"Close {len(waves)} waves?",
        sentence=(
            f"Every link of the waves {names} stops working at once; draft responses can no "
            "longer be finished, and the responses are cut from their experts for good."
        ),
        button=f"Yes, close {len(waves)} waves",
    )
