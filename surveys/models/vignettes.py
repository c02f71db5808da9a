"""Vignettes' assumed order per role: the researcher's ranking of hypothetical actors."""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from surveys.models.instrument import Actor, Role, Wave


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
