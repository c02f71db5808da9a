"""Experts (identities encrypted at rest) and their invitations to a wave."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from surveys.identity_crypto import (
    BlindIndexField,
    EncryptedCharField,
    EncryptedEmailField,
    blind_index,
)
from surveys.models.instrument import Panel, Wave


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
