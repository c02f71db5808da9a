"""The survey data model: the cube's dimensions, the instrument, experts and their ratings.

A rating is one value of the cube (wave, panel, holder, subject, perspective, role): the wave
and panel come from the response, holder, subject and perspective from the item's block, the
role from the item.

Every text an expert reads of the instrument (role names and definitions, actor names, cities,
scale labels, the wave's title and landing text, block titles and prompts) is an
``InstrumentText``: one row per object, field and language, with its review status. The
models that own texts reach them as ``texts`` (``TextOwner.text_map``).
"""

import operator
from functools import reduce

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from surveys.identity_crypto import (
    BlindIndexField,
    EncryptedCharField,
    EncryptedEmailField,
    blind_index,
)

CONFIDENCE_MIN = 1
CONFIDENCE_MAX = 5


class TextOwner:
    """A model whose texts are ``InstrumentText`` rows (reverse accessor ``texts``)."""

    def text_map(self, field: str) -> dict[str, str]:
        """``{language: text}`` of one field; reads ``prefetch_related("texts")`` if done."""
        return {text.language: text.text for text in self.texts.all() if text.field == field}


class Actor(TextOwner, models.Model):
    """A state or an organisation that can hold and be ascribed roles; its name is a text.

    A *vignette* is a hypothetical actor, described by a short text (its ``description``),
    that every panel rates on the same roles: its ratings show how each expert uses the
    scale (``VignetteOrder``; the estimators of ``aggregation.estimators``).
    """

    class Kind(models.TextChoices):
        STATE = "state", _("state")
        ORGANISATION = "organisation", _("organisation")
        VIGNETTE = "vignette", _("vignette (hypothetical case)")

    code = models.CharField(
        max_length=8, unique=True, help_text="ISO-style code, e.g. RUS, KAZ, CSTO."
    )
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.STATE)
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["order", "code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(code__regex=r"^[A-Z]{2,8}$"), name="actor_code_upper"
            ),
        ]

    def __str__(self) -> str:
        return self.code


class Role(TextOwner, models.Model):
    """A foreign-policy role of the typology (Holsti 1970 and later additions); its name and
    definition are texts."""

    code = models.SlugField(max_length=64, unique=True)
    source = models.CharField(max_length=120, blank=True, help_text="Where the role comes from.")
    order = models.PositiveSmallIntegerField(default=0)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["order", "code"]

    def __str__(self) -> str:
        return self.code

    def texts_by_language(self) -> dict[str, dict[str, str]]:
        """The role's texts as ``{language: {"name": ..., "definition": ...}}``."""
        by_language: dict[str, dict[str, str]] = {}
        for text in self.texts.all():
            by_language.setdefault(text.language, {})[text.field] = text.text
        return by_language


class Panel(TextOwner, models.Model):
    """The experts of one capital, tied to the state actor whose view they give; its city's
    name is a text."""

    code = models.CharField(max_length=8, unique=True, help_text="e.g. MOW, AST, YER.")
    actor = models.ForeignKey(Actor, on_delete=models.PROTECT, related_name="panels")
    language = models.CharField(
        max_length=8,
        choices=settings.LANGUAGES,
        default="ru",
        help_text="The language its experts' pages and e-mails start in (kk for Astana, hy for "
        "Yerevan, …); an expert may be given another, and switches on any page.",
    )
    admins = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        blank=True,
        related_name="administered_panels",
        help_text="Staff users who manage this panel's experts, invitations and responses.",
    )

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.code


class Scale(TextOwner, models.Model):
    """A rating scale: integers from ``min_value`` to ``max_value``; its end labels are texts.

    *Cannot judge* is a separate choice on every scale, stored as missing, never as a value.
    """

    name = models.CharField(max_length=100, unique=True)
    min_value = models.SmallIntegerField(default=0)
    max_value = models.SmallIntegerField(default=10)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(max_value__gt=F("min_value")), name="scale_max_above_min"
            ),
            models.CheckConstraint(
                condition=Q(min_value__gte=0, max_value__lte=100), name="scale_within_0_100"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.min_value}–{self.max_value})"

    @property
    def points(self) -> int:
        return self.max_value - self.min_value + 1


def wave_languages_pattern() -> str:
    """The regular expression of ``Wave.languages``: English and Russian, then any of the
    other languages, in the order of ``settings.LANGUAGES``, comma-separated."""
    others = "".join(f"(,{code})?" for code, _name in settings.LANGUAGES[2:])
    return f"^{settings.LANGUAGES[0][0]},{settings.LANGUAGES[1][0]}{others}$"


class Wave(TextOwner, models.Model):
    """A survey round; its instrument is frozen once the wave opens.

    ``title`` names the wave for admins, researchers and exports; experts read the title
    text of their language. ``languages`` lists the languages the wave is fielded in: every
    text of its instrument must exist in each before it opens.
    """

    class Status(models.TextChoices):
        DRAFT = "draft", _("draft")
        OPEN = "open", _("open")
        CLOSED = "closed", _("closed")

    slug = models.SlugField(max_length=50, unique=True, help_text="e.g. 2025; used by commands.")
    title = models.CharField(
        max_length=200, help_text="The wave's name in the admin, the reports and the exports."
    )
    languages = models.CharField(
        max_length=40,
        default="en,ru",
        help_text="Languages the wave is fielded in, comma-separated; English and Russian "
        "always, the others in the order of the site's languages.",
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    opens_at = models.DateTimeField(null=True, blank=True)
    closes_at = models.DateTimeField(null=True, blank=True)
    is_synthetic = models.BooleanField(
        default=False, help_text="Demo data generated by seed_demo, not real expert ratings."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-slug"]
        constraints = [
            models.CheckConstraint(
                condition=Q(opens_at__isnull=True)
                | Q(closes_at__isnull=True)
                | Q(closes_at__gt=F("opens_at")),
                name="wave_closes_after_opening",
                violation_error_message=_("The closing date must come after the opening date."),
            ),
            models.CheckConstraint(
                condition=Q(languages__regex=wave_languages_pattern()),
                name="wave_languages_known_with_en_ru",
                violation_error_message=_(
                    "A wave is fielded in English, Russian and any of the other languages."
                ),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.title} [{self.slug}]"

    @property
    def language_codes(self) -> list[str]:
        return self.languages.split(",")


class Perspective(models.TextChoices):
    """Whose view of whose role an item asks about: conception, expectation or performance."""

    CONCEPTION = "conception", _("conception")
    EXPECTATION = "expectation", _("expectation")
    PERFORMANCE = "performance", _("performance")


class Block(TextOwner, models.Model):
    """One page of the questionnaire: a holder's view of a subject's roles, in one perspective.

    Its title and prompt are optional texts; without them the page shows the standard wording
    of its perspective.
    """

    wave = models.ForeignKey(Wave, on_delete=models.CASCADE, related_name="blocks")
    order = models.PositiveSmallIntegerField()
    holder = models.ForeignKey(Actor, on_delete=models.PROTECT, related_name="+")
    subject = models.ForeignKey(Actor, on_delete=models.PROTECT, related_name="+")
    perspective = models.CharField(max_length=12, choices=Perspective.choices)
    scale = models.ForeignKey(Scale, on_delete=models.PROTECT, related_name="blocks")
    panels = models.ManyToManyField(Panel, related_name="blocks")

    class Meta:
        ordering = ["wave", "order"]
        constraints = [
            models.UniqueConstraint(fields=["wave", "order"], name="block_order_unique_in_wave"),
            models.UniqueConstraint(
                fields=["wave", "holder", "subject", "perspective"],
                name="block_unique_view_in_wave",
            ),
            models.CheckConstraint(
                condition=Q(perspective=Perspective.CONCEPTION, holder=F("subject"))
                | (Q(perspective=Perspective.EXPECTATION) & ~Q(holder=F("subject")))
                | Q(perspective=Perspective.PERFORMANCE),
                name="block_perspective_matches_actors",
                violation_error_message=_(
                    "A conception block needs holder = subject; "
                    "an expectation block needs holder ≠ subject."
                ),
            ),
        ]

    def __str__(self) -> str:
        view = f"{self.holder.code}→{self.subject.code} {self.perspective}"
        return f"{self.wave.slug} #{self.order}: {view}"

    def clean(self):
        # A vignette is rated as it acts in its description, by every panel alike: the
        # vignette is holder and subject, the perspective is performance.
        if self.holder_id is None or self.subject_id is None:
            return
        vignette = Actor.Kind.VIGNETTE
        if vignette in (self.holder.kind, self.subject.kind) and not (
            self.holder_id == self.subject_id and self.perspective == Perspective.PERFORMANCE
        ):
            raise ValidationError(
                _(
                    "A vignette block asks how the hypothetical case itself acts: the "
                    "vignette is both holder and subject, and the perspective is performance."
                ),
                code="vignette_block_view",
            )

    @property
    def is_vignette(self) -> bool:
        return self.subject.kind == Actor.Kind.VIGNETTE


class Item(models.Model):
    """One role inside a block; keeps the role texts the wave was fielded with."""

    block = models.ForeignKey(Block, on_delete=models.CASCADE, related_name="items")
    role = models.ForeignKey(Role, on_delete=models.PROTECT, related_name="items")
    code = models.SlugField(
        max_length=120, help_text="Stable across waves: perspective.holder.subject.role."
    )
    order = models.PositiveSmallIntegerField(default=0)
    fielded_texts = models.JSONField(
        default=dict,
        blank=True,
        help_text="Role names and definitions as fielded, frozen when the wave opens.",
    )

    class Meta:
        ordering = ["block", "order", "id"]
        constraints = [
            models.UniqueConstraint(fields=["block", "role"], name="item_role_unique_in_block"),
            models.UniqueConstraint(fields=["block", "code"], name="item_code_unique_in_block"),
        ]

    def __str__(self) -> str:
        return self.code

    def role_texts(self) -> dict[str, dict[str, str]]:
        """The role's texts as fielded (frozen at opening), else the typology's current ones."""
        return self.fielded_texts or self.role.texts_by_language()


class VignetteOrder(models.Model):
    """The order the researcher assumes for a wave's vignettes on one role, lowest first.

    Its ranks (``VignetteRank``) rank every vignette the wave asks about the role exactly
    once (``surveys.vignettes.vignette_order_set`` checks it); the C-scores of King
    et al. (2004) place each rating among the expert's vignette ratings in this order. Like
    the rest of the instrument, it is frozen when the wave opens.
    """

    wave = models.ForeignKey(Wave, on_delete=models.CASCADE, related_name="vignette_orders")
    role = models.ForeignKey(Role, on_delete=models.PROTECT, related_name="vignette_orders")

    class Meta:
        ordering = ["wave", "role"]
        constraints = [
            models.UniqueConstraint(fields=["wave", "role"], name="vignette_order_once_per_role"),
        ]

    def __str__(self) -> str:
        return f"{self.wave.slug}: {self.role.code}"


class VignetteRank(models.Model):
    """One vignette's place in an assumed order: 1 for the vignette that holds the role least."""

    order = models.ForeignKey(VignetteOrder, on_delete=models.CASCADE, related_name="ranks")
    vignette = models.ForeignKey(
        Actor,
        on_delete=models.PROTECT,
        related_name="+",
        limit_choices_to={"kind": Actor.Kind.VIGNETTE},
    )
    rank = models.PositiveSmallIntegerField(help_text="1 = holds the role least.")

    class Meta:
        ordering = ["order", "rank"]
        constraints = [
            models.UniqueConstraint(
                fields=["order", "vignette"],
                name="vignette_ranked_once",
                violation_error_message=_("A vignette is ranked once per role."),
            ),
            models.UniqueConstraint(
                fields=["order", "rank"],
                name="vignette_rank_once",
                violation_error_message=_("Two vignettes cannot share a rank."),
            ),
            models.CheckConstraint(condition=Q(rank__gte=1), name="vignette_rank_from_1"),
        ]

    def __str__(self) -> str:
        return f"{self.order}: {self.rank}. {self.vignette.code}"


# The objects that own texts, and the fields of each (``InstrumentText`` keys its rows so).
TEXT_FIELDS: dict[str, tuple[str, ...]] = {
    "wave": ("title", "landing"),
    "block": ("title", "prompt"),
    "actor": ("name", "description"),
    "role": ("name", "definition"),
    "panel": ("city",),
    "scale": ("low_label", "high_label"),
}
# Texts an instrument may go without (then the page shows a standard wording or nothing);
# one given in any language must be given in all the wave's languages.
OPTIONAL_TEXTS = frozenset({("wave", "landing"), ("block", "title"), ("block", "prompt")})
# Texts only some owners of a kind have: a vignette's description (``surveys.texts.keys``).
VIGNETTE_TEXTS = frozenset({("actor", "description")})


def _one_owner_with_its_fields() -> Q:
    """Exactly one owner is set, and the field is one of that owner's."""
    return reduce(
        operator.or_,
        (
            Q(**{f"{other}__isnull": other != owner for other in TEXT_FIELDS}, field__in=fields)
            for owner, fields in TEXT_FIELDS.items()
        ),
    )


class InstrumentText(models.Model):
    """One text of the instrument in one language, with its review status.

    A missing text has no row (the text is never empty). Writing a different text makes it
    a draft again (``surveys.texts.services``); ``reviewed_by`` and ``reviewed_at`` say who
    marked it reviewed and when.
    """

    class Field(models.TextChoices):
        TITLE = "title", _("title")
        LANDING = "landing", _("landing text")
        PROMPT = "prompt", _("prompt")
        NAME = "name", _("name")
        DESCRIPTION = "description", _("description")
        DEFINITION = "definition", _("definition")
        CITY = "city", _("city")
        LOW_LABEL = "low_label", _("low end label")
        HIGH_LABEL = "high_label", _("high end label")

    class Status(models.TextChoices):
        DRAFT = "draft", _("draft")
        REVIEWED = "reviewed", _("reviewed")

    wave = models.ForeignKey(
        Wave, on_delete=models.CASCADE, null=True, blank=True, related_name="texts"
    )
    block = models.ForeignKey(
        Block, on_delete=models.CASCADE, null=True, blank=True, related_name="texts"
    )
    actor = models.ForeignKey(
        Actor, on_delete=models.CASCADE, null=True, blank=True, related_name="texts"
    )
    role = models.ForeignKey(
        Role, on_delete=models.CASCADE, null=True, blank=True, related_name="texts"
    )
    panel = models.ForeignKey(
        Panel, on_delete=models.CASCADE, null=True, blank=True, related_name="texts"
    )
    scale = models.ForeignKey(
        Scale, on_delete=models.CASCADE, null=True, blank=True, related_name="texts"
    )
    field = models.CharField(max_length=16, choices=Field.choices)
    language = models.CharField(max_length=8, choices=settings.LANGUAGES)
    text = models.TextField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["language", "field", "pk"]
        permissions = [("review_instrumenttext", "Can mark instrument texts reviewed")]
        constraints = [
            models.CheckConstraint(
                condition=_one_owner_with_its_fields(), name="text_one_owner_own_field"
            ),
            models.CheckConstraint(condition=~Q(text=""), name="text_not_empty"),
            models.CheckConstraint(
                condition=Q(status="draft") | Q(reviewed_at__isnull=False),
                name="text_reviewed_has_time",
            ),
            *(
                models.UniqueConstraint(
                    fields=[owner, "field", "language"],
                    condition=Q(**{f"{owner}__isnull": False}),
                    name=f"text_once_per_{owner}_field_language",
                )
                for owner in TEXT_FIELDS
            ),
        ]

    def __str__(self) -> str:
        owner = self.owner_name
        return f"{owner} #{getattr(self, f'{owner}_id')} {self.field} [{self.language}]"

    @property
    def owner_name(self) -> str:
        """``wave``, ``block``, ``actor``, ``role``, ``panel`` or ``scale``."""
        return next(owner for owner in TEXT_FIELDS if getattr(self, f"{owner}_id") is not None)


class ExpertQuerySet(models.QuerySet):
    def with_email(self, *emails: str) -> "ExpertQuerySet":
        """Experts with one of these e-mails (any letter case), found through the blind index.

        E-mails are encrypted, so ``filter(email=...)`` is not possible.
        """
        return self.filter(email_blind_index__in=[blind_index(email) for email in emails])


class Expert(models.Model):
    """A person on a panel; name, e-mail and affiliation need ``view_expert_identity``.

    The three are encrypted at rest (``surveys.identity_crypto``): model code reads and
    writes plaintext, the columns hold ciphertext, and ``email_blind_index`` (a keyed hash of
    the lower-cased e-mail) carries the unique constraint and the lookups by e-mail.
    """

    panel = models.ForeignKey(Panel, on_delete=models.PROTECT, related_name="experts")
    name = EncryptedCharField(max_length=200)
    email = EncryptedEmailField()
    email_blind_index = BlindIndexField(source="email")
    affiliation = EncryptedCharField(max_length=300, blank=True)
    language = models.CharField(max_length=8, choices=settings.LANGUAGES, default="ru")
    other_languages = models.CharField(
        max_length=60, blank=True, help_text="Comma-separated language codes the expert reads."
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ExpertQuerySet.as_manager()

    class Meta:
        ordering = ["panel", "id"]
        permissions = [("view_expert_identity", "Can see experts' names, e-mails, affiliations")]
        constraints = [
            models.UniqueConstraint(
                fields=["panel", "email_blind_index"],
                name="expert_email_index_unique_in_panel",
                violation_error_message=_("An expert with this e-mail is already on this panel."),
                violation_error_code="unique",
            ),
        ]

    def __str__(self) -> str:
        # Deliberately no name or e-mail: __str__ reaches logs, admin messages and exports.
        return f"Expert #{self.pk} ({self.panel.code})"

    def validate_constraints(self, exclude=None):
        # The blind index is on no form, but it follows the e-mail: whenever the e-mail is
        # validated, compute the index and check the unique constraint with it.
        if self.email and "email" not in (exclude or ()):
            self.email_blind_index = blind_index(self.email)
            exclude = set(exclude or ()) - {"email_blind_index"}
        super().validate_constraints(exclude=exclude)


class Invitation(models.Model):
    """An expert's personal link to one wave. Only the SHA-256 hash of the token is stored."""

    class Status(models.TextChoices):
        CREATED = "created", _("created")
        SENT = "sent", _("sent")
        STARTED = "started", _("started")
        SUBMITTED = "submitted", _("submitted")

    expert = models.ForeignKey(Expert, on_delete=models.CASCADE, related_name="invitations")
    wave = models.ForeignKey(Wave, on_delete=models.CASCADE, related_name="invitations")
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    language = models.CharField(max_length=8, choices=settings.LANGUAGES, default="ru")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.CREATED)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    opened_at = models.DateTimeField(null=True, blank=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    reminders_sent = models.PositiveSmallIntegerField(default=0)
    last_reminder_at = models.DateTimeField(null=True, blank=True)
    # The address the expert's response was started with: a link re-issued for a response
    # with answers goes there, never to an address typed in later (surveys.reissue).
    started_email = EncryptedEmailField(null=True, blank=True, editable=False)
    # Blind index of a changed address that a superuser approved for re-issuing the link.
    reissue_approved_index = models.CharField(max_length=64, blank=True, editable=False)

    class Meta:
        ordering = ["wave", "expert"]
        constraints = [
            models.UniqueConstraint(fields=["expert", "wave"], name="invitation_once_per_wave"),
            models.CheckConstraint(
                condition=Q(token_hash__regex=r"^[0-9a-f]{64}$"), name="invitation_token_is_hash"
            ),
        ]

    def __str__(self) -> str:
        return f"Invitation #{self.pk} ({self.wave.slug})"


class Response(models.Model):
    """One questionnaire filled by one expert in one wave, stored under a pseudonym."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("draft")
        SUBMITTED = "submitted", _("submitted")

    class Source(models.TextChoices):
        WEB = "web", _("web form")
        IMPORT = "import", _("imported")

    wave = models.ForeignKey(Wave, on_delete=models.PROTECT, related_name="responses")
    panel = models.ForeignKey(Panel, on_delete=models.PROTECT, related_name="responses")
    invitation = models.OneToOneField(
        Invitation, on_delete=models.SET_NULL, null=True, blank=True, related_name="response"
    )
    pseudonym = models.CharField(max_length=16, unique=True, editable=False)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.WEB)
    last_block = models.PositiveSmallIntegerField(
        default=0, help_text="Order of the last block the expert saved, to resume there."
    )
    consented_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    submitted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["wave", "pseudonym"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status="draft") | Q(submitted_at__isnull=False),
                name="response_submitted_has_time",
            ),
        ]

    def __str__(self) -> str:
        return self.pseudonym


class Rating(models.Model):
    """One cell value of the cube: a value on the item's scale, or *cannot judge*."""

    response = models.ForeignKey(Response, on_delete=models.CASCADE, related_name="ratings")
    # Indexed by ``rating_item_covering`` below (item, then response and value).
    item = models.ForeignKey(Item, on_delete=models.PROTECT, related_name="ratings", db_index=False)
    value = models.SmallIntegerField(null=True, blank=True)
    cannot_judge = models.BooleanField(default=False)
    confidence = models.PositiveSmallIntegerField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["response", "item"]
        indexes = [
            # On PostgreSQL the paired comparisons read (item, response, value) from this
            # index alone, without visiting the table (aggregation.loaders.paired_sums_load).
            models.Index(
                fields=["item"], include=["response", "value"], name="rating_item_covering"
            ),
        ]
        permissions = [
            ("view_anonymised_ratings", "Can read anonymised raw ratings"),
            ("import_ratings", "Can import ratings collected outside the web form"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["response", "item"], name="rating_once_per_item"),
            models.CheckConstraint(
                condition=Q(value__isnull=False, cannot_judge=False)
                | Q(value__isnull=True, cannot_judge=True),
                name="rating_value_xor_cannot_judge",
                violation_error_message=_("Give a value or choose “cannot judge”, not both."),
            ),
            models.CheckConstraint(
                condition=Q(confidence__isnull=True)
                | Q(confidence__gte=CONFIDENCE_MIN, confidence__lte=CONFIDENCE_MAX),
                name="rating_confidence_1_5",
                violation_error_message=_("Confidence runs from 1 to 5."),
            ),
            # The exact scale bounds are the item's; a database trigger (migration
            # 0002_rating_value_in_item_scale) enforces them, this is the outer limit.
            models.CheckConstraint(
                condition=Q(value__isnull=True) | Q(value__gte=0, value__lte=100),
                name="rating_value_0_100",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.response.pseudonym} {self.item.code}"


class BlockComment(models.Model):
    """An expert's optional free-text comment on one block.

    A comment reaches researchers (the release bundle) only once a panel admin has cleared
    it of identifying content (``surveys.comment_review``); a changed text needs clearing
    again.
    """

    class Review(models.TextChoices):
        PENDING = "pending", _("pending review")
        CLEARED = "cleared", _("cleared for release")
        WITHHELD = "withheld", _("withheld")

    response = models.ForeignKey(Response, on_delete=models.CASCADE, related_name="comments")
    block = models.ForeignKey(Block, on_delete=models.PROTECT, related_name="comments")
    text = models.TextField(max_length=4000)
    review = models.CharField(max_length=10, choices=Review.choices, default=Review.PENDING)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["response", "block"], name="comment_once_per_block"),
            models.CheckConstraint(
                condition=Q(review="pending") | Q(reviewed_at__isnull=False),
                name="comment_reviewed_has_time",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.response.pseudonym} block {self.block.order}"


class CommentReview(BlockComment):
    """The review queue of experts' comments: the same rows, seen without their response."""

    class Meta:
        proxy = True
        verbose_name = "comment to review"
        verbose_name_plural = "comments to review"
        permissions = [("clear_comment", "Can clear or withhold experts' comments for release")]

    def __str__(self) -> str:
        return f"Comment #{self.pk}"


class AppliedBlockChange(models.Model):
    """The last change of a block page applied to a response (surveys.questionnaire).

    A page's script sends each change with an id it drew and a sequence that grows with every
    change (the device's clock in milliseconds); a replay of the same id, or an older change
    that arrives after a newer one, is refused against this row, read and written in the
    transaction that saves the page. Dropped when the wave closes (linkage.responses_unlink):
    its sequence is a time on the expert's device.
    """

    response = models.ForeignKey(
        Response, on_delete=models.CASCADE, related_name="applied_block_changes"
    )
    block = models.ForeignKey(Block, on_delete=models.CASCADE, related_name="+")
    change_id = models.CharField(max_length=64, blank=True)
    sequence = models.BigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["response", "block"], name="one_applied_change_per_block"
            ),
        ]

    def __str__(self) -> str:
        return f"response {self.response_id} block {self.block_id}: {self.sequence}"


class AuditEntry(models.Model):
    """Who did what, when, to which object. Never personal data: ids and codes only."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    action = models.CharField(max_length=60, help_text="e.g. wave.open, expert.import.")
    object_type = models.CharField(max_length=60, blank=True)
    object_id = models.CharField(max_length=40, blank=True)
    detail = models.JSONField(default=dict, blank=True, help_text="Counts, codes and ids only.")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "audit entries"
        indexes = [models.Index(fields=["action", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.action} {self.object_type} {self.object_id}"


class DelphiStudy(models.Model):
    """A wave run as a Delphi study: its rounds are waves, and these are the rules of feedback.

    Round 1 is an ordinary wave; each later round is a wave copied from the previous one
    (``surveys.delphi``). While the study runs, each round's responses stay linked to their
    experts, so that round k can show an expert their round k − 1 answers; when the last
    round closes, or the study is ended, every round is cut as any closed wave is.
    """

    class FeedbackScope(models.TextChoices):
        PANEL = "panel", _("the expert's panel")
        ALL = "all", _("all panels")

    class Justification(models.TextChoices):
        OPTIONAL = "optional", _("optional")
        REQUIRED = "required", _("required")

    title = models.CharField(max_length=200)
    feedback_scope = models.CharField(
        max_length=8,
        choices=FeedbackScope.choices,
        default=FeedbackScope.PANEL,
        help_text="Whose median and IQR an expert sees beside their own previous answer.",
    )
    justification = models.CharField(
        max_length=10,
        choices=Justification.choices,
        default=Justification.OPTIONAL,
        help_text="Whether a revised answer outside the shown IQR needs a short reason.",
    )
    consensus_iqr_max = models.FloatField(
        null=True, blank=True, default=1.0, help_text="Consensus: IQR at most this (empty: unused)."
    )
    consensus_share_min = models.FloatField(
        null=True,
        blank=True,
        default=0.75,
        help_text="Consensus: at least this share within ±1 of the median (empty: unused).",
    )
    drop_agreed_items = models.BooleanField(
        default=False, help_text="Leave items that reached consensus out of the next round."
    )
    last_round = models.PositiveSmallIntegerField(
        default=2, help_text="The study ends, and its links are cut, when this round closes."
    )
    ended_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "Delphi studies"
        constraints = [
            models.CheckConstraint(
                condition=Q(last_round__gte=1, last_round__lte=10), name="delphi_last_round_1_10"
            ),
            models.CheckConstraint(
                condition=Q(consensus_share_min__isnull=True)
                | Q(consensus_share_min__gte=0, consensus_share_min__lte=1),
                name="delphi_share_min_0_1",
            ),
        ]

    def __str__(self) -> str:
        return self.title


class DelphiRound(models.Model):
    """One round of a Delphi study: a wave, and the figures of the round once it closed."""

    study = models.ForeignKey(DelphiStudy, on_delete=models.CASCADE, related_name="rounds")
    number = models.PositiveSmallIntegerField()
    wave = models.OneToOneField(Wave, on_delete=models.PROTECT, related_name="delphi_round")
    results = models.JSONField(
        default=dict,
        blank=True,
        editable=False,
        help_text="Per item and panel: median, quartiles, consensus and stability; stored "
        "when the round is closed and the next one opens or the study ends.",
    )

    class Meta:
        ordering = ["study", "number"]
        constraints = [
            models.UniqueConstraint(fields=["study", "number"], name="delphi_round_once"),
            models.CheckConstraint(condition=Q(number__gte=1), name="delphi_round_from_1"),
        ]

    def __str__(self) -> str:
        return f"{self.study} – round {self.number}"


class RevisionJustification(models.Model):
    """An expert's reason for a Delphi answer outside the previous round's IQR."""

    response = models.ForeignKey(Response, on_delete=models.CASCADE, related_name="justifications")
    item = models.ForeignKey(Item, on_delete=models.PROTECT, related_name="justifications")
    text = models.TextField(max_length=1000)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["response", "item"], name="justification_once_per_item"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.response.pseudonym} {self.item.code}"
