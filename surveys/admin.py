"""Admin for the survey model. Lifecycle actions call services; identities need a permission."""

from operator import attrgetter

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import Count

from surveys import services
from surveys.models import (
    Actor,
    AuditEntry,
    Block,
    BlockComment,
    Expert,
    Invitation,
    Item,
    Panel,
    Rating,
    Response,
    Role,
    Scale,
    Wave,
)

IDENTITY_PERMISSION = "surveys.view_expert_identity"
IDENTITY_FIELDS = ("name", "email", "affiliation")


def can_see_identities(request) -> bool:
    return request.user.has_perm(IDENTITY_PERMISSION)


@admin.register(Actor)
class ActorAdmin(admin.ModelAdmin):
    list_display = ("code", "name_en", "name_ru", "kind", "order")
    list_filter = ("kind",)
    search_fields = ("code", "name_en", "name_ru")
    list_editable = ("order",)


@admin.register(Role)
class RoleAdmin(admin.ModelAdmin):
    list_display = ("code", "name_en", "name_ru", "source", "order", "is_active")
    list_filter = ("source", "is_active")
    search_fields = ("code", "name_en", "name_ru", "definition_en", "definition_ru")
    list_editable = ("order", "is_active")


@admin.register(Panel)
class PanelAdmin(admin.ModelAdmin):
    list_display = ("code", "city_en", "city_ru", "actor")
    list_select_related = ("actor",)
    search_fields = ("code", "city_en", "city_ru")


@admin.register(Scale)
class ScaleAdmin(admin.ModelAdmin):
    list_display = ("name", "min_value", "max_value", "low_label_en", "high_label_en")


class FrozenInstrumentMixin:
    """Blocks and items of a wave that is no longer a draft are read-only."""

    wave_path = "wave"

    def _wave_of(self, obj) -> Wave:
        return attrgetter(self.wave_path)(obj)

    def has_change_permission(self, request, obj=None):
        if obj is not None and self._wave_of(obj).status != Wave.Status.DRAFT:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        if obj is not None and self._wave_of(obj).status != Wave.Status.DRAFT:
            return False
        return super().has_delete_permission(request, obj)


class ItemInline(admin.TabularInline):
    model = Item
    fields = ("order", "role", "code")
    readonly_fields = ("code",)
    extra = 0
    autocomplete_fields = ("role",)

    def has_add_permission(self, request, obj=None):
        if obj is not None and obj.wave.status != Wave.Status.DRAFT:
            return False
        return super().has_add_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        if obj is not None and obj.wave.status != Wave.Status.DRAFT:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return self.has_change_permission(request, obj)


@admin.register(Block)
class BlockAdmin(FrozenInstrumentMixin, admin.ModelAdmin):
    list_display = ("__str__", "wave", "order", "holder", "subject", "perspective", "n_items")
    list_filter = ("wave", "perspective", "holder", "subject", "panels")
    list_select_related = ("wave", "holder", "subject")
    search_fields = ("holder__code", "subject__code", "wave__slug")
    filter_horizontal = ("panels",)
    inlines = [ItemInline]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(item_count=Count("items"))

    @admin.display(description="items", ordering="item_count")
    def n_items(self, obj):
        return obj.item_count

    def save_model(self, request, obj, form, change):
        services.instrument_assert_editable(wave=obj.wave)
        super().save_model(request, obj, form, change)


@admin.register(Item)
class ItemAdmin(FrozenInstrumentMixin, admin.ModelAdmin):
    list_display = ("code", "role", "block", "order")
    list_filter = ("block__wave", "block__perspective", "role")
    list_select_related = ("role", "block__wave", "block__holder", "block__subject")
    search_fields = ("code", "role__code", "role__name_en")
    readonly_fields = ("fielded_texts",)
    wave_path = "block.wave"


@admin.register(Wave)
class WaveAdmin(admin.ModelAdmin):
    list_display = ("slug", "title", "status", "opens_at", "closes_at", "is_synthetic")
    list_filter = ("status", "is_synthetic")
    search_fields = ("slug", "title")
    actions = ["open_waves", "close_waves"]

    def get_readonly_fields(self, request, obj=None):
        # Status changes only through the lifecycle actions (and their checks).
        return ("status", "created_at") if obj else ("created_at",)

    def _run_lifecycle(self, request, queryset, service, verb):
        for wave in queryset:
            try:
                service(wave=wave)
            except ValidationError as error:
                self.message_user(request, "; ".join(error.messages), messages.ERROR)
            else:
                self.message_user(request, f"Wave {wave.slug} {verb}.", messages.SUCCESS)

    @admin.action(description="Open the selected draft waves (freezes the instrument)")
    def open_waves(self, request, queryset):
        self._run_lifecycle(request, queryset, services.wave_open, "opened")

    @admin.action(description="Close the selected open waves")
    def close_waves(self, request, queryset):
        self._run_lifecycle(request, queryset, services.wave_close, "closed")


@admin.register(Expert)
class ExpertAdmin(admin.ModelAdmin):
    """Names, e-mails and affiliations only for users with ``view_expert_identity``."""

    list_filter = ("panel", "language", "is_active")
    list_select_related = ("panel",)

    def get_list_display(self, request):
        base = ("__str__", "panel", "language", "is_active", "created_at")
        return (*base[:1], "name", "email", *base[1:]) if can_see_identities(request) else base

    def get_search_fields(self, request):
        return ("name", "email", "affiliation") if can_see_identities(request) else ()

    def get_exclude(self, request, obj=None):
        return () if can_see_identities(request) else IDENTITY_FIELDS


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = ("__str__", "expert", "wave", "language", "status", "sent_at", "submitted_at")
    list_filter = ("wave", "status", "language", "expert__panel")
    list_select_related = ("expert__panel", "wave")
    readonly_fields = ("token_hash", "created_at", "opened_at", "submitted_at")
    raw_id_fields = ("expert",)


class RatingInline(admin.TabularInline):
    model = Rating
    fields = ("item", "value", "cannot_judge", "confidence")
    raw_id_fields = ("item",)
    extra = 0


@admin.register(Response)
class ResponseAdmin(admin.ModelAdmin):
    list_display = ("pseudonym", "wave", "panel", "status", "source", "submitted_at")
    list_filter = ("wave", "panel", "status", "source")
    list_select_related = ("wave", "panel")
    search_fields = ("pseudonym",)
    readonly_fields = ("pseudonym", "invitation", "started_at", "updated_at", "submitted_at")
    inlines = [RatingInline]


@admin.register(Rating)
class RatingAdmin(admin.ModelAdmin):
    list_display = ("response", "item", "value", "cannot_judge", "confidence")
    list_filter = ("response__wave", "response__panel", "cannot_judge", "item__block__perspective")
    list_select_related = ("response", "item")
    search_fields = ("response__pseudonym", "item__code")
    raw_id_fields = ("response", "item")


@admin.register(BlockComment)
class BlockCommentAdmin(admin.ModelAdmin):
    list_display = ("response", "block")
    list_filter = ("block__wave",)
    list_select_related = ("response", "block__wave", "block__holder", "block__subject")
    raw_id_fields = ("response", "block")


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    list_display = ("created_at", "user", "action", "object_type", "object_id")
    list_filter = ("action", "object_type", "user")
    list_select_related = ("user",)
    search_fields = ("action", "object_id")
    date_hierarchy = "created_at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
