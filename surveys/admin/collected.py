"""Collected data in the admin: invitations, responses, ratings and comments.

All read-only and scoped to the user's panels; invitations change through the audited
actions, deletions go through ``surveys.data_changes``, and who sees identities sees no
per-response record (``ReadOnlyDataAdminMixin``).
"""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.template.response import TemplateResponse
from django.urls import reverse

from surveys import confirmations, data_changes, linkage, panel_admin
from surveys.admin.common import (
    AuditedAdminMixin,
    DataDeletionAdminMixin,
    PanelScopedAdminMixin,
    ReadOnlyDataAdminMixin,
    _confirmed,
    _skipped_text,
    confirmation_page,
)
from surveys.models import (
    BlockComment,
    Invitation,
    Rating,
    Response,
)


@admin.register(Invitation)
class InvitationAdmin(AuditedAdminMixin, PanelScopedAdminMixin, admin.ModelAdmin):
    """Invitations of the user's panels, read-only: they change only through the actions
    (send, remind, approve a new address), each audited. No link to the response."""

    list_display = (
        "__str__",
        "expert",
        "wave",
        "language",
        "status",
        "sent_at",
        "reminders_sent",
        "last_reminder_at",
        "submitted_at",
    )
    list_filter = ("wave", "status", "language", "expert__panel")
    list_select_related = ("expert__panel", "wave")
    fields = (
        "expert",
        "wave",
        "language",
        "status",
        "created_at",
        "sent_at",
        "opened_at",
        "submitted_at",
        "reminders_sent",
        "last_reminder_at",
    )
    readonly_fields = fields
    actions = ["send_invitations", "send_reminders", "approve_new_address"]
    audit_name = "invitation"
    panel_field = "expert__panel"

    def has_add_permission(self, request):
        # Invitations are made by the "invite" actions, which check the wave and the expert.
        return False

    def has_approve_permission(self, request) -> bool:
        return request.user.is_superuser

    def _report(self, request, report: panel_admin.SendReport) -> None:
        text = f"{report.queued} e-mails queued."
        if report.skipped:
            text += f" Not sent: {_skipped_text(report.skipped)}."
        self.message_user(request, text, messages.SUCCESS if report.queued else messages.WARNING)

    def _confirm_selected(self, request, queryset, action: str) -> TemplateResponse:
        ids = [str(pk) for pk in queryset.values_list("pk", flat=True)]
        return confirmation_page(
            self.admin_site,
            request,
            preview=confirmations.selected_invitations_preview(action=action, count=len(ids)),
            hidden=[("action", action)] + [(admin.helpers.ACTION_CHECKBOX_NAME, pk) for pk in ids],
            cancel_url=reverse("admin:surveys_invitation_changelist"),
            opts=self.model._meta,
        )

    @admin.action(description="E-mail the invitation (not sent yet)…", permissions=["change"])
    def send_invitations(self, request, queryset):
        if not _confirmed(request):
            return self._confirm_selected(request, queryset, "send_invitations")
        self._report(request, panel_admin.invitations_send(invitations=queryset, user=request.user))
        return None

    @admin.action(description="E-mail a reminder (within the limits)…", permissions=["change"])
    def send_reminders(self, request, queryset):
        if not _confirmed(request):
            return self._confirm_selected(request, queryset, "send_reminders")
        self._report(request, panel_admin.reminders_send(invitations=queryset, user=request.user))
        return None

    @admin.action(
        description="Approve sending the link to the expert's changed e-mail (superusers)",
        permissions=["approve"],
    )
    def approve_new_address(self, request, queryset):
        approved, problems = 0, set()
        for invitation in queryset:
            try:
                linkage.reissue_approve(invitation=invitation, user=request.user)
            except ValidationError as error:
                problems.update(error.messages)
            else:
                approved += 1
        self.message_user(
            request,
            f"{approved} new addresses approved; the next reminder goes there, and a notice "
            "to the old address.",
            messages.SUCCESS if approved else messages.WARNING,
        )
        for problem in sorted(problems):
            self.message_user(request, problem, messages.WARNING)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        # The page is read-only; a POST could still reach ModelAdmin's save path.
        if request.method == "POST":
            raise PermissionDenied
        return super().change_view(request, object_id, form_url, extra_context)


@admin.register(Response)
class ResponseAdmin(
    DataDeletionAdminMixin, ReadOnlyDataAdminMixin, PanelScopedAdminMixin, admin.ModelAdmin
):
    """Responses under their pseudonyms: never an invitation, an expert or an exact time
    (which could be matched to an invitation's), never the answers next to anything else."""

    list_display = ("pseudonym", "wave", "panel", "status", "source")
    list_filter = ("wave", "panel", "status", "source")
    list_select_related = ("wave", "panel")
    search_fields = ("pseudonym",)
    fields = ("pseudonym", "wave", "panel", "status", "source")
    readonly_fields = fields
    ordering = ("wave", "pseudonym")
    # No "reopen" here: a response is reopened for its expert, chosen by expert on the
    # expert-status page; reopening by pseudonym would tell who is behind it.
    actions = ["delete_selected"]

    def delete_queryset(self, request, queryset):
        data_changes.responses_delete(responses=queryset, user=request.user)


@admin.register(Rating)
class RatingAdmin(
    DataDeletionAdminMixin, ReadOnlyDataAdminMixin, PanelScopedAdminMixin, admin.ModelAdmin
):
    list_display = ("response", "item", "value", "cannot_judge", "confidence")
    list_filter = ("response__wave", "response__panel", "cannot_judge", "item__block__perspective")
    list_select_related = ("response", "item")
    search_fields = ("response__pseudonym", "item__code")
    fields = ("response", "item", "value", "cannot_judge", "confidence")
    readonly_fields = fields
    ordering = ("response__pseudonym", "item__code")
    panel_field = "response__panel"

    def delete_queryset(self, request, queryset):
        data_changes.ratings_delete(ratings=queryset, user=request.user)


@admin.register(BlockComment)
class BlockCommentAdmin(ReadOnlyDataAdminMixin, PanelScopedAdminMixin, admin.ModelAdmin):
    list_display = ("response", "block")
    list_filter = ("block__wave",)
    list_select_related = ("response", "block__wave", "block__holder", "block__subject")
    fields = ("response", "block", "text")
    readonly_fields = fields
    panel_field = "response__panel"

    def has_delete_permission(self, request, obj=None):
        return False
