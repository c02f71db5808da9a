"""Delphi studies, their rounds and the reasons given for revisions."""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from surveys.models.instrument import Item, Wave
from surveys.models.responses import Response


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
