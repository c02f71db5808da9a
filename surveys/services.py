"""Writes to the survey model: the wave lifecycle, the instrument, experts and invitations.

Every state change of the survey goes through a function here; views, admin actions and
management commands call them and turn their errors into messages.
"""

import hashlib
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from surveys import linkage
from surveys.audit import audit_record
from surveys.identity_crypto import blind_index
from surveys.models import (
    Actor,
    Block,
    Expert,
    Invitation,
    Item,
    Panel,
    Role,
    Scale,
    Wave,
)
from surveys.texts.selectors import texts_missing_message, wave_texts_missing
from surveys.texts.services import texts_copy, texts_set

TOKEN_BYTES = 32
DEFAULT_SCALE_NAME = "0–10"


class InstrumentLockedError(ValidationError):
    """The wave is open or closed: its blocks, items and role texts are frozen."""


class WaveStateError(ValidationError):
    """A lifecycle step that the wave's current status does not allow."""


# Tokens ------------------------------------------------------------------------------------


def token_hash(token: str) -> str:
    """SHA-256 of an invitation token, the only form in which a token is stored.

    Tokens carry 256 random bits, so a fast unsalted hash is enough: there is nothing to
    guess, and the hash lets a link be looked up with one indexed query.
    """
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def token_new() -> tuple[str, str]:
    """A fresh URL-safe token of ``TOKEN_BYTES`` random bytes and its hash."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    return token, token_hash(token)


def pseudonym_new() -> str:
    """A random pseudonym for a response, such as ``R-7KQ2M9XD``: no link to the expert."""
    alphabet = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
    return "R-" + "".join(secrets.choice(alphabet) for _ in range(8))


# Waves and their instrument ----------------------------------------------------------------


def item_code(*, perspective: str, holder: Actor, subject: Actor, role: Role) -> str:
    """The stable code of an item: the same view of the same role keeps it across waves."""
    return f"{perspective}.{holder.code}.{subject.code}.{role.code}".lower()


def instrument_assert_editable(*, wave: Wave) -> None:
    if wave.status != Wave.Status.DRAFT:
        raise InstrumentLockedError(
            _(
                "The instrument of wave “%(wave)s” cannot change: the wave is %(status)s. "
                "Copy it into a new draft wave to change the questions."
            )
            % {"wave": wave.slug, "status": wave.get_status_display()},
            code="instrument_locked",
        )


@transaction.atomic
def block_create(
    *,
    wave: Wave,
    holder: Actor,
    subject: Actor,
    perspective: str,
    roles: Sequence[Role],
    panels: Iterable[Panel],
    order: int | None = None,
    scale: Scale | None = None,
    texts: Mapping[str, Mapping[str, str]] | None = None,
    user=None,
) -> Block:
    """Add a block (one questionnaire page) with one item per role to a draft wave.

    ``texts`` are the block's own title and prompt, ``{"prompt": {language: text}}``;
    without them the page shows the standard wording of the perspective.
    """

    instrument_assert_editable(wave=wave)
    if not roles:
        raise ValidationError(_("A block needs at least one role."), code="block_without_roles")
    panels = list(panels)
    if not panels:
        raise ValidationError(_("A block needs at least one panel."), code="block_without_panels")
    if order is None:
        order = (wave.blocks.order_by("-order").values_list("order", flat=True).first() or 0) + 1
    block = Block(
        wave=wave,
        order=order,
        holder=holder,
        subject=subject,
        perspective=perspective,
        scale=scale or Scale.objects.get(name=DEFAULT_SCALE_NAME),
    )
    block.full_clean()
    block.save()
    block.panels.set(panels)
    texts_set(owner=block, texts=texts or {}, user=user)
    Item.objects.bulk_create(
        Item(
            block=block,
            role=role,
            order=position,
            code=item_code(perspective=perspective, holder=holder, subject=subject, role=role),
        )
        for position, role in enumerate(roles, start=1)
    )
    return block


@transaction.atomic
def block_delete(*, block: Block) -> None:
    instrument_assert_editable(wave=block.wave)
    block.delete()


@transaction.atomic
def wave_open(*, wave: Wave, now: datetime | None = None) -> Wave:
    """Open a draft wave: freeze its instrument with the role texts as fielded today.

    Refused while a text of the instrument is missing in one of the wave's languages; the
    refusal names every missing text.
    """

    wave = Wave.objects.select_for_update().get(pk=wave.pk)
    if wave.status != Wave.Status.DRAFT:
        raise WaveStateError(
            _("Only a draft wave can be opened; “%(wave)s” is %(status)s.")
            % {"wave": wave.slug, "status": wave.get_status_display()},
            code="wave_not_draft",
        )
    blocks = list(wave.blocks.prefetch_related("panels", "items__role__texts"))
    if not blocks:
        raise WaveStateError(_("A wave without blocks cannot be opened."), code="wave_empty")
    items = []
    for block in blocks:
        if not block.panels.all():
            raise WaveStateError(
                _("Block %(order)s is answered by no panel.") % {"order": block.order},
                code="block_without_panels",
            )
        for item in block.items.all():
            item.fielded_texts = item.role.texts_by_language()
            items.append(item)
    if not items:
        raise WaveStateError(_("A wave without items cannot be opened."), code="wave_empty")
    incomplete = wave_texts_missing(wave=wave)
    if incomplete:
        raise WaveStateError(
            texts_missing_message(wave=wave, incomplete=incomplete), code="texts_missing"
        )
    Item.objects.bulk_update(items, ["fielded_texts"])
    now = now or timezone.now()
    wave.status = Wave.Status.OPEN
    wave.opens_at = wave.opens_at or now
    if wave.closes_at and wave.closes_at <= wave.opens_at:
        raise WaveStateError(
            _("The closing date must come after the opening date."), code="wave_dates"
        )
    wave.save(update_fields=["status", "opens_at"])
    return wave


@transaction.atomic
def wave_close(*, wave: Wave, now: datetime | None = None, user=None) -> Wave:
    """Close an open wave: its links stop working, its instrument stays frozen, and its
    responses are cut from their experts for good (``linkage.responses_unlink``)."""
    wave = Wave.objects.select_for_update().get(pk=wave.pk)
    if wave.status != Wave.Status.OPEN:
        raise WaveStateError(
            _("Only an open wave can be closed; “%(wave)s” is %(status)s.")
            % {"wave": wave.slug, "status": wave.get_status_display()},
            code="wave_not_open",
        )
    now = now or timezone.now()
    wave.status = Wave.Status.CLOSED
    if wave.closes_at is None or wave.closes_at > now:
        wave.closes_at = max(now, wave.opens_at) if wave.opens_at else now
    wave.save(update_fields=["status", "closes_at"])
    # The link response → invitation → expert served resume, reopen and reminders; a closed
    # wave needs none of them, so it is cut now, in the same transaction. A Delphi round
    # before the study's last keeps it for the next round's feedback; the last round's
    # closing ends the study and cuts every round (surveys.delphi).
    from surveys.delphi import delphi_after_wave_close  # delphi imports this module

    if not delphi_after_wave_close(wave=wave, user=user):
        linkage.responses_unlink(wave=wave, user=user)
    return wave


@transaction.atomic
def wave_copy_instrument(*, source: Wave, slug: str, title: str, user=None) -> Wave:
    """Start the next round: a new draft wave with the same blocks and items as ``source``.

    Item codes stay the same, so the two waves' cells line up for trends. The languages, the
    landing text, the blocks' own titles and prompts and the orders assumed for the
    vignettes (``surveys.vignettes``) are copied; the title is not (the
    new wave needs its own in each language), nor are the role texts: the new wave freezes
    the typology's texts of the day it opens.
    """

    if Wave.objects.filter(slug=slug).exists():
        raise ValidationError(
            _("A wave with the slug “%(slug)s” already exists.") % {"slug": slug},
            code="wave_slug_taken",
        )
    target = Wave(
        slug=slug, title=title, languages=source.languages, is_synthetic=source.is_synthetic
    )
    target.full_clean()
    target.save()
    copies = {}
    for block in source.blocks.prefetch_related("panels", "items__role"):
        copies[block.pk] = block_create(
            wave=target,
            holder=block.holder,
            subject=block.subject,
            perspective=block.perspective,
            roles=[item.role for item in block.items.all()],
            panels=block.panels.all(),
            order=block.order,
            scale=block.scale,
        )
    texts_copy(source=source, target=target, blocks=copies)
    from surveys.vignettes import vignette_orders_copy  # vignettes imports this module

    vignette_orders_copy(source=source, target=target)
    audit_record(
        user=user,
        action="wave.copy_instrument",
        obj=target,
        detail={"source": source.slug, "blocks": target.blocks.count()},
    )
    return target


# Experts and invitations -------------------------------------------------------------------


def expert_create(
    *,
    panel: Panel,
    name: str,
    email: str,
    language: str = "",
    affiliation: str = "",
) -> Expert:
    """A new expert of ``panel``; ``language`` defaults to the panel's."""
    expert = Expert(
        panel=panel,
        name=name,
        email=email,
        language=language or panel.language,
        affiliation=affiliation,
    )
    expert.full_clean()
    expert.save()
    return expert


@dataclass(frozen=True)
class IdentityRotationReport:
    experts: int
    reindexed: int


@transaction.atomic
def identity_keys_rotate() -> IdentityRotationReport:
    """Re-encrypt every expert's name, e-mail and affiliation under the newest key of
    ``IDENTITY_ENCRYPTION_KEYS`` and recompute the e-mail blind indexes.

    Reading decrypts with whichever configured key fits and writing encrypts with the first,
    which is what ``MultiFernet.rotate`` does. All or nothing: if any expert cannot be
    decrypted (``IdentityKeyError``), nothing changes. ``reindexed`` counts the blind indexes
    that changed, which happens only after ``IDENTITY_BLIND_INDEX_KEY`` was changed.
    """
    experts = list(
        Expert.objects.select_for_update()
        .only("name", "email", "affiliation", "email_blind_index")
        .order_by("pk")
    )
    reindexed = 0
    for expert in experts:
        index = blind_index(expert.email)
        reindexed += index != expert.email_blind_index
        expert.email_blind_index = index
    Expert.objects.bulk_update(
        experts, ["name", "email", "affiliation", "email_blind_index"], batch_size=500
    )
    # The addresses responses were started with (``linkage``) are identities too.
    invitations = list(
        Invitation.objects.select_for_update()
        .filter(started_email__isnull=False)
        .only("started_email")
        .order_by("pk")
    )
    Invitation.objects.bulk_update(invitations, ["started_email"], batch_size=500)
    report = IdentityRotationReport(experts=len(experts), reindexed=reindexed)
    audit_record(
        user=None,
        action="identity.rotate_keys",
        detail={"experts": report.experts, "reindexed": report.reindexed},
    )
    return report


def invitation_create(*, expert: Expert, wave: Wave, language: str = "") -> tuple[Invitation, str]:
    """Invite an expert to a wave. Returns the invitation and its token, shown only now."""
    if wave.status == Wave.Status.CLOSED:
        raise WaveStateError(
            _("Wave “%(wave)s” is closed; nobody can be invited to it.") % {"wave": wave.slug},
            code="wave_closed",
        )
    if Invitation.objects.filter(expert=expert, wave=wave).exists():
        raise ValidationError(
            _("%(expert)s is already invited to this wave.") % {"expert": expert},
            code="invitation_exists",
        )
    token, hashed = token_new()
    invitation = Invitation.objects.create(
        expert=expert, wave=wave, token_hash=hashed, language=language or expert.language
    )
    return invitation, token


def invitation_reissue_token(*, invitation: Invitation) -> str:
    """Replace an invitation's token (the old link stops working) and return the new one."""
    token, hashed = token_new()
    invitation.token_hash = hashed
    invitation.save(update_fields=["token_hash"])
    return token
