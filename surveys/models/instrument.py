"""The instrument: actors, roles, panels, scales, waves, blocks and items."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

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
