"""Writes of Delphi studies: starting a study, opening round k + 1, ending the study.

A Delphi study (``DelphiStudy``) is a sequence of waves. Round 1 is an ordinary wave. An admin
opens round k + 1 once round k is closed (``delphi_round_open``): the round's figures are
computed and stored on the round (``DelphiRound.results``), a new wave is made with the
same blocks (less the items that reached consensus, if the study says so), opened, and the
experts who submitted round k are invited again, with their same link unless a new one is
asked for.

**Linkage.** Round k shows an expert their own round k − 1 answers, so while the study runs
a closed round's responses stay linked to their invitations (``wave_close`` defers the cut
through ``delphi_after_wave_close``), and round k's response is paired with the same
expert's round k − 1 response through the expert's invitations: nothing else records the
pair. When the last round closes, or an admin ends the study (``delphi_study_end``), the
last round's figures are stored and every round is cut as any closed wave is. From then on
the stability figures exist only as stored numbers, and no row pairs two responses.
"""

from collections.abc import Mapping, Sequence
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from surveys import linkage
from surveys.audit import audit_record
from surveys.delphi_selectors import (
    DelphiFeedback,
    DelphiPage,
    delphi_results_compute,
)
from surveys.models import (
    DelphiRound,
    DelphiStudy,
    InstrumentText,
    Invitation,
    Item,
    Rating,
    Response,
    RevisionJustification,
    Wave,
)
from surveys.questionnaire import Answer, BlockChange, BlockSaved, response_save_block
from surveys.selectors import QuestionnaireBlock
from surveys.services import token_new, wave_copy_instrument, wave_open
from surveys.texts.services import text_set

JUSTIFICATION_MAX_LENGTH = 1000


class DelphiStateError(ValidationError):
    """A step that the study's current state does not allow."""


@transaction.atomic
def delphi_study_start(*, wave: Wave, title: str = "", user=None, **rules: object) -> DelphiStudy:
    """Run ``wave`` as round 1 of a new Delphi study (before or while it is open).

    ``rules`` are the study's fields (``feedback_scope``, ``justification``,
    ``consensus_iqr_max``, ``consensus_share_min``, ``drop_agreed_items``, ``last_round``);
    the rest keep their defaults.
    """
    if DelphiRound.objects.filter(wave=wave).exists():
        raise DelphiStateError(
            _("Wave “%(wave)s” is already a round of a Delphi study.") % {"wave": wave.slug},
            code="delphi_wave_taken",
        )
    if wave.status == Wave.Status.CLOSED:
        raise DelphiStateError(
            _("Wave “%(wave)s” is closed and its responses are cut from their experts.")
            % {"wave": wave.slug},
            code="delphi_wave_closed",
        )
    study = DelphiStudy(title=title or wave.title, **rules)
    study.full_clean()
    study.save()
    DelphiRound.objects.create(study=study, number=1, wave=wave)
    audit_record(user=user, action="delphi.start", obj=study, detail={"wave": wave.slug})
    return study


def _round_last(study: DelphiStudy) -> DelphiRound:
    return study.rounds.select_related("wave").order_by("-number").first()


def _round_close_results(round_: DelphiRound) -> None:
    round_.results = delphi_results_compute(round_=round_)
    round_.save(update_fields=["results"])


def _codes_agreed(results: Mapping, *, scope: str) -> set[str]:
    """Items whose consensus held in the scope experts were shown (every panel, or all)."""
    agreed = set()
    for code, item in results.get("items", {}).items():
        scopes = item.get("scopes", {})
        if scope == DelphiStudy.FeedbackScope.ALL:
            verdicts = [scopes.get("all", {}).get("consensus", False)]
        else:
            verdicts = [figures["consensus"] for key, figures in scopes.items() if key != "all"]
        if verdicts and all(verdicts):
            agreed.add(code)
    return agreed


def _wave_next(*, first: Wave, source: Wave, number: int, leave_out: set[str]) -> Wave:
    """Round ``number``'s draft wave: the instrument of ``source`` (``wave_copy_instrument``:
    its languages, landing text and blocks with their texts) less the items in ``leave_out``,
    named after round 1's wave: ``<slug>-r<number>``, and in each of its languages
    "<title>, round <number>"."""
    slug = f"{first.slug[:44]}-r{number}"

    def round_title(title: str) -> str:
        return _("%(title)s, round %(number)s") % {"title": title, "number": number}

    if Wave.objects.filter(slug=slug).exists():
        raise DelphiStateError(
            _("A wave with the slug “%(slug)s” already exists.") % {"slug": slug},
            code="wave_slug_taken",
        )
    target = wave_copy_instrument(source=source, slug=slug, title=round_title(first.title)[:200])
    # Each title from round 1's in its language; reviewed where that one was (the added words
    # are the catalog's).
    for text in first.texts.filter(field="title"):
        with translation.override(text.language):
            title = round_title(text.text)
        reviewed = text.status == InstrumentText.Status.REVIEWED
        text_set(owner=target, field="title", language=text.language, text=title, reviewed=reviewed)
    Item.objects.filter(block__wave=target, code__in=leave_out).delete()
    target.blocks.filter(items__isnull=True).delete()
    return target


@transaction.atomic
def delphi_round_open(
    *, study: DelphiStudy, user=None, new_links: bool = False, now: datetime | None = None
) -> tuple[DelphiRound, dict[int, str]]:
    """Open round k + 1 from round k's closed results.

    Returns the new round and, with ``new_links``, each re-invited invitation's new token by
    invitation id (shown once, to be sent). Without ``new_links`` the experts' links move to
    the new round: the same URL now opens round k + 1 (the closed round's invitation gets a
    token nobody holds).
    """
    study = DelphiStudy.objects.select_for_update().get(pk=study.pk)
    previous = _round_last(study)
    if study.ended_at is not None:
        raise DelphiStateError(_("This Delphi study has ended."), code="delphi_ended")
    if previous.wave.status != Wave.Status.CLOSED:
        raise DelphiStateError(
            _("Round %(number)s is still %(status)s: close it before opening the next round.")
            % {"number": previous.number, "status": previous.wave.get_status_display()},
            code="delphi_round_not_closed",
        )
    if previous.number >= study.last_round:
        raise DelphiStateError(
            _("Round %(number)s was the study's last round.") % {"number": previous.number},
            code="delphi_last_round",
        )
    _round_close_results(previous)
    leave_out = (
        _codes_agreed(previous.results, scope=study.feedback_scope)
        if study.drop_agreed_items
        else set()
    )
    first = study.rounds.select_related("wave").get(number=1).wave
    wave = _wave_next(
        first=first, source=previous.wave, number=previous.number + 1, leave_out=leave_out
    )
    if not wave.blocks.exists():
        raise DelphiStateError(
            _("Every item reached consensus: there is nothing left to ask."),
            code="delphi_all_agreed",
        )
    wave = wave_open(wave=wave, now=now)
    round_ = DelphiRound.objects.create(study=study, number=previous.number + 1, wave=wave)
    answered = list(
        Invitation.objects.filter(
            wave=previous.wave,
            response__status=Response.Status.SUBMITTED,
            expert__is_active=True,
        ).order_by("pk")
    )
    fresh = [token_new() for _ in answered]
    tokens: dict[int, str] = {}
    # A fixed number of queries whatever the number of experts: one update, one insert.
    if new_links:
        created = Invitation.objects.bulk_create(
            Invitation(expert_id=old.expert_id, wave=wave, token_hash=hashed, language=old.language)
            for old, (_token, hashed) in zip(answered, fresh, strict=True)
        )
        tokens = {
            invitation.pk: token
            for invitation, (token, _hashed) in zip(created, fresh, strict=True)
        }
    else:
        # The link moves on: the closed round's invitation gets a token nobody holds.
        moved = [old.token_hash for old in answered]
        for old, (_token, hashed) in zip(answered, fresh, strict=True):
            old.token_hash = hashed
        Invitation.objects.bulk_update(answered, ["token_hash"])
        Invitation.objects.bulk_create(
            Invitation(
                expert_id=old.expert_id,
                wave=wave,
                token_hash=same,
                language=old.language,
                status=Invitation.Status.SENT,
            )
            for old, same in zip(answered, moved, strict=True)
        )
    audit_record(
        user=user,
        action="delphi.round_open",
        obj=study,
        detail={
            "round": round_.number,
            "wave": wave.slug,
            "invited": len(answered),
            "left_out_items": len(leave_out),
            "new_links": new_links,
        },
    )
    return round_, tokens


@transaction.atomic
def delphi_study_end(*, study: DelphiStudy, user=None, now: datetime | None = None) -> DelphiStudy:
    """End the study after its latest round closed: store its figures, cut every round.

    Called by ``wave_close`` when the study's last round closes, or by an admin to stop
    earlier. Idempotent for an ended study.
    """
    study = DelphiStudy.objects.select_for_update().get(pk=study.pk)
    if study.ended_at is not None:
        return study
    latest = _round_last(study)
    if latest.wave.status != Wave.Status.CLOSED:
        raise DelphiStateError(
            _("Round %(number)s is still %(status)s: close it before ending the study.")
            % {"number": latest.number, "status": latest.wave.get_status_display()},
            code="delphi_round_not_closed",
        )
    _round_close_results(latest)
    study.ended_at = now or timezone.now()
    study.save(update_fields=["ended_at"])
    unlinked = 0
    for round_ in study.rounds.select_related("wave"):
        unlinked += linkage.responses_unlink(wave=round_.wave, user=user)
    audit_record(
        user=user,
        action="delphi.end",
        obj=study,
        detail={"rounds": latest.number, "responses_unlinked": unlinked},
    )
    return study


def delphi_after_wave_close(*, wave: Wave, user=None) -> bool:
    """What closing ``wave`` means for its study. True when the wave's cut is deferred.

    A round before the study's last keeps its links for the next round; the last round's
    closing ends the study, which cuts every round.
    """
    round_ = DelphiRound.objects.select_related("study").filter(wave=wave).first()
    if round_ is None or round_.study.ended_at is not None:
        return False
    if round_.number >= round_.study.last_round:
        delphi_study_end(study=round_.study, user=user)
        return True
    audit_record(
        user=user, action="wave.unlink_deferred", obj=wave, detail={"round": round_.number}
    )
    return True


# The expert's page ---------------------------------------------------------------------------


def answers_keep(
    *, answers: Sequence[Answer], keep_item_id: int, feedback: Mapping[int, DelphiFeedback]
) -> list[Answer]:
    """``answers`` with the item ``keep_item_id`` set back to the expert's previous answer."""
    previous = feedback.get(keep_item_id)
    if previous is None or not previous.has_own:
        raise ValidationError(_("There is no earlier answer to keep."), code="delphi_no_previous")
    kept = Answer(
        item_id=keep_item_id,
        value=previous.own_value,
        cannot_judge=previous.own_cannot_judge,
        confidence=None,
    )
    confidence = next((a.confidence for a in answers if a.item_id == keep_item_id), None)
    if kept.value is not None:
        kept = Answer(item_id=keep_item_id, value=kept.value, confidence=confidence)
    return [a for a in answers if a.item_id != keep_item_id] + [kept]


def _justification_errors(
    *,
    block: QuestionnaireBlock,
    answers: Sequence[Answer],
    justifications: Mapping[int, str],
    feedback: Mapping[int, DelphiFeedback],
    required: bool,
) -> list[str]:
    errors = []
    names = {item.pk: item for item in block.items}
    for answer in answers:
        text = justifications.get(answer.item_id, "")
        if len(text) > JUSTIFICATION_MAX_LENGTH:
            errors.append(
                _("A reason is longer than %(max)s characters.") % {"max": JUSTIFICATION_MAX_LENGTH}
            )
        shown = feedback.get(answer.item_id)
        if required and shown is not None and shown.needs_reason(answer.value) and not text.strip():
            item = names.get(answer.item_id)
            role = item.name(shown.language) if item else str(answer.item_id)
            errors.append(
                _("“%(role)s”: your answer is outside the range shown; please say briefly why.")
                % {"role": role}
            )
    return errors


@transaction.atomic
def delphi_block_save(
    *,
    response: Response,
    block: QuestionnaireBlock,
    answers: Sequence[Answer],
    comment: str,
    change: BlockChange | None,
    justifications: Mapping[int, str],
    feedback: Mapping[int, DelphiFeedback],
    required: bool,
) -> BlockSaved:
    """Save a Delphi round's block page with the reasons given for answers outside the IQR.

    A reason is required (if the study says so) only when the page is posted by its buttons:
    the page's autosave (``change``) stores what is there, so an expert can move a value
    before typing the reason.
    """
    errors = _justification_errors(
        block=block,
        answers=answers,
        justifications=justifications,
        feedback=feedback,
        required=required and change is None,
    )
    if errors:
        raise ValidationError(errors, code="delphi_reason_missing")
    saved = response_save_block(
        response=response, block=block, answers=answers, comment=comment, change=change
    )
    if not saved.applied:
        return saved
    texts = {item_id: text.strip() for item_id, text in justifications.items() if text.strip()}
    RevisionJustification.objects.filter(response=response, item_id__in=block.item_ids).exclude(
        item_id__in=texts
    ).delete()
    known = set(Item.objects.filter(pk__in=texts, block_id=block.pk).values_list("pk", flat=True))
    for item_id, text in texts.items():
        if item_id in known:
            RevisionJustification.objects.update_or_create(
                response=response, item_id=item_id, defaults={"text": text}
            )
    return saved


def delphi_reasons_missing(*, response: Response, page: DelphiPage) -> list[int]:
    """Orders of the blocks with an answer that needs a reason and has none (required only).

    The block pages ask for reasons when they are left by their buttons; this catches an
    answer saved by the page's autosave and never followed by a reason.
    """
    if not page.required:
        return []
    reasons = set(
        RevisionJustification.objects.filter(response=response).values_list("item_id", flat=True)
    )
    orders = set()
    for item_id, value, order in Rating.objects.filter(response=response).values_list(
        "item_id", "value", "item__block__order"
    ):
        shown = page.feedback.get(item_id)
        if shown is not None and shown.needs_reason(value) and item_id not in reasons:
            orders.add(order)
    return sorted(orders)
