"""The audit log in the admin: read-only, filterable by area."""

from collections.abc import Iterable

from django.contrib import admin

from surveys.models import (
    AuditEntry,
)


class AuditActionPrefixFilter(admin.SimpleListFilter):
    """Filter by what was acted on: experts, invitations, waves, responses, exports."""

    title = "area"
    parameter_name = "area"

    def lookups(self, request, model_admin) -> Iterable[tuple[str, str]]:
        return [
            ("expert", "experts"),
            ("invitation", "invitations"),
            ("wave", "waves"),
            ("response", "responses"),
            ("export", "exports"),
        ]

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(action__startswith=f"{self.value()}.")
        return queryset


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    """Who did what, when: read-only, filterable; the rows hold ids and counts only."""

    list_display = ("created_at", "user", "action", "object_type", "object_id", "detail")
    list_filter = (AuditActionPrefixFilter, "action", "object_type", "user")
    list_select_related = ("user",)
    search_fields = ("action", "object_id")
    date_hierarchy = "created_at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
