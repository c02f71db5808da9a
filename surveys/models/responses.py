"""Responses, their ratings and comments, and the order of offline changes."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from surveys.models.experts import Invitation
from surveys.models.instrument import CONFIDENCE_MAX, CONFIDENCE_MIN, Block, Item, Panel, Wave


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
