"""Every text of the instrument, per language (``InstrumentText``)."""

import operator
from functools import reduce

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from surveys.models.instrument import Actor, Block, Panel, Role, Scale, Wave

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
