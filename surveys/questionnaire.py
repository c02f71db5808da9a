"""Writes of the expert questionnaire: links, consent, drafts, submission, reopening.

Every change an expert makes goes through a function here; the views only parse input and
call them. Each function that changes a response starts its transaction with a conditional
``UPDATE`` of the response (or invitation) row. That write is the lock: on PostgreSQL it
holds the row until commit, so a second submit or a late autosave waits and then finds
nothing to do; on SQLite it takes the database write lock before anything is read, so two
requests never race on a stale snapshot.

A block page with JavaScript sends each change of the page as a whole-page snapshot marked
with a ``BlockChange`` (an id drawn by the browser and a sequence number that grows with
every change), and sends it again until the server has acknowledged it: offline, the
browser keeps it. A replay must change nothing, and an older snapshot that arrives after a
newer one (a second tab, a request that was slow to arrive) must not overwrite it. So the
last change applied to each (response, block) is recorded, and ``response_save_block``
skips a change whose id it has already applied or whose sequence is not newer. The record
(``AppliedBlockChange``) is read and written inside the transaction that saves the page,
after the response's conditional ``UPDATE``: two requests for the same response are
serialised by that lock, so the second always sees the first one's record.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Case, F, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from aggregation.scheduling import aggregation_schedule
from surveys import linkage
from surveys.comment_review import comment_text_set
from surveys.models import (
    CONFIDENCE_MAX,
    CONFIDENCE_MIN,
    AppliedBlockChange,
    Block,
    Invitation,
    Rating,
    Response,
    Wave,
)
from surveys.selectors import QuestionnaireBlock, QuestionnaireItem, questionnaire_load_block
from surveys.services import pseudonym_new, token_hash

COMMENT_MAX_LENGTH = 4000
PSEUDONYM_ATTEMPTS = 5
EXPERT_IDENTITY_FIELDS = ("name", "email", "email_blind_index", "affiliation")


class ResponseLockedError(ValidationError):
    """The response is submitted: only an admin can reopen it for changes."""


@dataclass(frozen=True)
class Answer:
    """One row of a block page as the expert left it: a value, *cannot judge*, or nothing.

    ``confidence`` is kept only with a value: a confidence about *cannot judge* means nothing.
    """

    item_id: int
    value: int | None = None
    cannot_judge: bool = False
    confidence: int | None = None

    @property
    def is_answered(self) -> bool:
        return self.value is not None or self.cannot_judge


@dataclass(frozen=True)
class BlockChange:
    """The browser's mark on one snapshot of a block page: its id and its place in order.

    ``sequence`` grows with every change the expert makes (the browser's clock in
    milliseconds, never below a sequence the page was shown with, see
    ``block_change_sequence``), so that of two snapshots of a page the later one wins.
    """

    change_id: str
    sequence: int


@dataclass(frozen=True)
class BlockSaved:
    """What ``response_save_block`` did: ``applied`` is False for a replayed or older change."""

    response: Response
    applied: bool
    sequence: int


def block_change_sequence(*, response: Response, block_id: int) -> int:
    """The sequence of the last change applied to the block (0 if none).

    A page shows it so that a change made after seeing the page is always newer, whatever
    the clock of the device it is made on.
    """
    last = _block_change_last(response=response, block_id=block_id)
    return last[1] if last else 0


def _block_change_last(*, response: Response, block_id: int) -> tuple[str, int] | None:
    return (
        AppliedBlockChange.objects.filter(response=response, block_id=block_id)
        .values_list("change_id", "sequence")
        .first()
    )


def _block_change_record(*, response: Response, block_id: int, change: tuple[str, int]) -> None:
    change_id, sequence = change
    AppliedBlockChange.objects.update_or_create(
        response=response,
        block_id=block_id,
        defaults={"change_id": change_id, "sequence": sequence},
    )


# Links -------------------------------------------------------------------------------------


def invitation_resolve(*, token: str, now: datetime | None = None) -> Invitation | None:
    """The invitation of a link, or None when the link must not work.

    A link works while its wave is open (status open, inside its dates) and its expert is
    active. An unknown, malformed, expired or closed link costs the same: one hash and one
    indexed query, and the caller shows the same page for all of them. The same query reads
    the link's response, if there is one (``selectors.response_for_invitation``), and the
    wave's Delphi round, if it is one (``delphi_selectors.delphi_page``); it leaves
    out the expert's identity, which no page of the link shows (nor decrypts).
    """
    now = now or timezone.now()
    try:
        invitation = (
            Invitation.objects.select_related("wave", "expert", "response", "wave__delphi_round")
            .defer(*(f"expert__{name}" for name in EXPERT_IDENTITY_FIELDS))
            .get(token_hash=token_hash(token))
        )
    except Invitation.DoesNotExist:
        return None
    wave = invitation.wave
    usable = (
        wave.status == Wave.Status.OPEN
        and (wave.opens_at is None or wave.opens_at <= now)
        and (wave.closes_at is None or now < wave.closes_at)
        and invitation.expert.is_active
    )
    return invitation if usable else None


def invitation_mark_opened(*, invitation: Invitation, now: datetime | None = None) -> None:
    """Record the first time the link was opened (the landing page), once."""
    if invitation.opened_at is None:
        invitation.opened_at = now or timezone.now()
        Invitation.objects.filter(pk=invitation.pk, opened_at__isnull=True).update(
            opened_at=invitation.opened_at
        )


def invitation_language(*, invitation: Invitation) -> str:
    """The language of the link's pages: the invitation's if the wave is fielded in it, else
    the first of ``LANGUAGE_FALLBACKS`` (Russian), which every wave is fielded in."""
    if invitation.language in invitation.wave.language_codes:
        return invitation.language
    return settings.LANGUAGE_FALLBACKS[0]


def invitation_language_set(*, invitation: Invitation, language: str) -> Invitation:
    """Keep the expert's choice of language on the invitation: the link remembers it.

    Only a language the wave is fielded in can be chosen.
    """
    if language not in invitation.wave.language_codes:
        raise ValidationError(
            _("“%(language)s” is not a language of this survey.") % {"language": language},
            code="language_unknown",
        )
    if invitation.language != language:
        invitation.language = language
        invitation.save(update_fields=["language"])
    return invitation


# Responses ---------------------------------------------------------------------------------


@transaction.atomic
def response_start(*, invitation: Invitation, now: datetime | None = None) -> Response:
    """Record the expert's consent: the response under a fresh pseudonym, once per link.

    Two tabs consenting at the same time still make one response (the invitation is unique
    on the response); the second gets the first one's.
    """
    now = now or timezone.now()
    # Write first: the lock on the invitation row that orders concurrent consents. The
    # second of two waits here, and its insert below then fails on the first's response.
    Invitation.objects.filter(pk=invitation.pk).update(
        status=Case(
            When(status=Invitation.Status.SUBMITTED, then=F("status")),
            default=Value(Invitation.Status.STARTED),
        ),
        opened_at=Coalesce(F("opened_at"), Value(now)),
    )
    linkage.started_email_record(invitation=invitation)
    for _attempt in range(PSEUDONYM_ATTEMPTS):
        try:
            with transaction.atomic():
                return Response.objects.create(
                    wave_id=invitation.wave_id,
                    panel_id=invitation.expert.panel_id,
                    invitation=invitation,
                    pseudonym=pseudonym_new(),
                    status=Response.Status.DRAFT,
                    source=Response.Source.WEB,
                    consented_at=now,
                )
        except IntegrityError:
            existing = Response.objects.filter(invitation=invitation).first()
            if existing is not None:
                return existing
            # Otherwise the pseudonym was taken (1 in 10^11): draw another.
    raise IntegrityError("Could not draw a free pseudonym.")


def _answers_errors(
    *, block: QuestionnaireBlock, items: dict[int, QuestionnaireItem], answers: Sequence[Answer]
) -> list:
    """Everything wrong with ``answers`` for ``block``, as translated messages."""
    language = get_language() or settings.LANGUAGE_CODE
    errors = []
    seen: set[int] = set()
    unknown = sorted({answer.item_id for answer in answers if answer.item_id not in items})
    if unknown:
        errors.append(
            _("These questions are not on this page: %(items)s.")
            % {"items": ", ".join(str(item_id) for item_id in unknown)}
        )
    for answer in answers:
        item = items.get(answer.item_id)
        if item is None:
            continue
        role = item.name(language)
        if answer.item_id in seen:
            errors.append(_("“%(role)s” was answered twice.") % {"role": role})
        seen.add(answer.item_id)
        if answer.cannot_judge and answer.value is not None:
            errors.append(
                _("“%(role)s”: give a value or choose “cannot judge”, not both.") % {"role": role}
            )
        if answer.value is not None and not block.scale_min <= answer.value <= block.scale_max:
            errors.append(
                _("“%(role)s”: %(value)s is outside the scale %(min)s–%(max)s.")
                % {
                    "role": role,
                    "value": answer.value,
                    "min": block.scale_min,
                    "max": block.scale_max,
                }
            )
        if answer.confidence is not None and not (
            CONFIDENCE_MIN <= answer.confidence <= CONFIDENCE_MAX
        ):
            errors.append(
                _("“%(role)s”: confidence %(value)s is outside %(min)s–%(max)s.")
                % {
                    "role": role,
                    "value": answer.confidence,
                    "min": CONFIDENCE_MIN,
                    "max": CONFIDENCE_MAX,
                }
            )
    return errors


def block_assert_in_questionnaire(*, response: Response, block: QuestionnaireBlock) -> None:
    """Refuse a block of another wave or one that the response's panel does not answer."""
    assigned = block.wave_id == response.wave_id and response.panel_id in block.panel_ids
    if not assigned:
        raise ValidationError(
            _("This page is not part of your questionnaire."), code="block_not_assigned"
        )


@transaction.atomic
def response_save_block(
    *,
    response: Response,
    block: Block | QuestionnaireBlock,
    answers: Sequence[Answer],
    comment: str = "",
    change: BlockChange | None = None,
    now: datetime | None = None,
) -> BlockSaved:
    """Store a block page as the draft: its ratings and comment replace what was there.

    The page is saved whole, with or without JavaScript: rows left unanswered lose any
    earlier rating, an empty comment removes the comment. Everything is checked before
    anything is written; a single error stores nothing. ``last_block`` becomes this block,
    the point from which the link resumes. ``block`` is the block of the questionnaire
    (``selectors.questionnaire_get``), or a model instance, which is then read in full.

    With a ``change`` (the page's JavaScript), a change already applied or older than the
    last one applied stores nothing (``applied`` is then False); without one (the page
    posted without JavaScript), the page is stored and counts as the newest change.
    """
    if isinstance(block, Block):
        block = questionnaire_load_block(block_id=block.pk)
    now = now or timezone.now()
    claimed = Response.objects.filter(pk=response.pk, status=Response.Status.DRAFT).update(
        last_block=block.order, updated_at=now
    )
    if not claimed:
        raise ResponseLockedError(
            _("Your answers are already submitted and can no longer be changed."),
            code="response_locked",
        )
    block_assert_in_questionnaire(response=response, block=block)
    last = _block_change_last(response=response, block_id=block.pk)
    last_sequence = last[1] if last else 0
    if (
        change is not None
        and last is not None
        and (change.change_id == last[0] or change.sequence <= last_sequence)
    ):
        return BlockSaved(response=response, applied=False, sequence=last_sequence)
    items = {item.pk: item for item in block.items}
    errors = _answers_errors(block=block, items=items, answers=answers)
    if len(comment) > COMMENT_MAX_LENGTH:
        errors.append(
            _("The comment is longer than %(max)s characters.") % {"max": COMMENT_MAX_LENGTH}
        )
    if errors:
        raise ValidationError(errors, code="answers_invalid")

    answered = [answer for answer in answers if answer.is_answered]
    answered_ids = {answer.item_id for answer in answered}
    if not block.item_ids <= answered_ids:  # rows left open lose their earlier rating
        Rating.objects.filter(response=response, item_id__in=block.item_ids).exclude(
            item_id__in=answered_ids
        ).delete()
    Rating.objects.bulk_create(
        [
            Rating(
                response=response,
                item_id=answer.item_id,
                value=None if answer.cannot_judge else answer.value,
                cannot_judge=answer.cannot_judge,
                confidence=None if answer.cannot_judge else answer.confidence,
            )
            for answer in answered
        ],
        update_conflicts=True,
        unique_fields=["response", "item"],
        update_fields=["value", "cannot_judge", "confidence", "updated_at"],
    )
    comment_text_set(response=response, block_id=block.pk, text=comment)
    if change is None:  # a post without JavaScript: newer than anything before it
        change = BlockChange(
            change_id="", sequence=max(last_sequence + 1, int(now.timestamp() * 1000))
        )
    _block_change_record(
        response=response, block_id=block.pk, change=(change.change_id, change.sequence)
    )
    response.last_block = block.order
    response.updated_at = now
    return BlockSaved(response=response, applied=True, sequence=change.sequence)


@transaction.atomic
def response_submit(*, response: Response, now: datetime | None = None) -> Response:
    """Submit a draft: lock it, mark the invitation, schedule the wave's aggregation.

    Idempotent: a second submit (another tab, a retried request) finds the response
    already submitted, changes nothing and schedules nothing. Aggregation is requested
    inside this transaction and published only on commit; a broker that is down never
    loses or blocks the submission (``aggregation.scheduling``).
    """
    return _submit(response=response, now=now)


def _submit(*, response: Response, now: datetime | None) -> Response:
    """``response_submit`` inside the caller's transaction (no savepoint of its own)."""
    now = now or timezone.now()
    flipped = Response.objects.filter(pk=response.pk, status=Response.Status.DRAFT).update(
        status=Response.Status.SUBMITTED, submitted_at=now, updated_at=now
    )
    if not flipped:  # submitted before: as the first submit left it
        return Response.objects.select_for_update().get(pk=response.pk)
    response.status = Response.Status.SUBMITTED
    response.submitted_at = response.updated_at = now
    if response.invitation_id is not None:
        Invitation.objects.filter(pk=response.invitation_id).update(
            status=Invitation.Status.SUBMITTED, submitted_at=now
        )
    aggregation_schedule(wave_id=response.wave_id)
    return response


@transaction.atomic
def response_reopen(*, response: Response) -> Response:
    """Unlock a submitted response so that its expert can change it (an admin's action).

    The wave's aggregates no longer include it, so aggregation is scheduled again.
    """
    flipped = Response.objects.filter(pk=response.pk, status=Response.Status.SUBMITTED).update(
        status=Response.Status.DRAFT, submitted_at=None, updated_at=timezone.now()
    )
    response = Response.objects.select_for_update().get(pk=response.pk)
    if not flipped:
        return response
    if response.invitation_id is not None:
        Invitation.objects.filter(pk=response.invitation_id).update(
            status=Invitation.Status.STARTED, submitted_at=None
        )
    aggregation_schedule(wave_id=response.wave_id)
    return response
