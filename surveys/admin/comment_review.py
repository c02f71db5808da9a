"""The review queue of experts' comments: a panel admin clears or withholds each one for release.

Scoped to the panels the user administers; read-only apart from the two actions, each of
which writes one audit row per comment (``surveys.comment_review``). The queue never shows a
comment's response or pseudonym.
"""

from django.contrib import admin, messages

from surveys.admin.common import PanelScopedAdminMixin
from surveys.comment_review import comments_review
from surveys.models import BlockComment, CommentReview


@admin.register(CommentReview)
class CommentReviewAdmin(PanelScopedAdminMixin, admin.ModelAdmin):
    list_display = ("pk", "wave", "panel", "block_label", "text", "review", "reviewed_at")
    list_display_links = None
    list_filter = ("review", "block__wave", "response__panel")
    list_select_related = ("block__wave", "block__holder", "block__subject", "response__panel")
    search_fields = ("text",)
    ordering = ("review", "block__wave__slug", "response__panel__code", "block__order", "pk")
    fields = ("wave", "panel", "block_label", "text", "review", "reviewed_at")
    readonly_fields = fields
    actions = ["clear_for_release", "withhold"]
    panel_field = "response__panel"

    @admin.display(description="wave", ordering="block__wave__slug")
    def wave(self, obj):
        return obj.block.wave.slug

    @admin.display(description="panel", ordering="response__panel__code")
    def panel(self, obj):
        return obj.response.panel.code

    @admin.display(description="block", ordering="block__order")
    def block_label(self, obj):
        block = obj.block
        return f"{block.order}: {block.perspective} {block.holder.code}→{block.subject.code}"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_clear_permission(self, request) -> bool:
        return request.user.has_perm("surveys.clear_comment")

    def _decide(self, request, queryset, decision: str, verb: str) -> None:
        count = comments_review(comments=queryset, decision=decision, user=request.user)
        self.message_user(request, f"{count} comments {verb}.", messages.SUCCESS)

    @admin.action(description="Clear the selected comments for release", permissions=["clear"])
    def clear_for_release(self, request, queryset):
        self._decide(request, queryset, BlockComment.Review.CLEARED, "cleared for release")

    @admin.action(description="Withhold the selected comments from release", permissions=["clear"])
    def withhold(self, request, queryset):
        self._decide(request, queryset, BlockComment.Review.WITHHELD, "withheld")
