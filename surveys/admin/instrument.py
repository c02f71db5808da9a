"""The instrument in the admin: actors, roles, panels, scales, blocks and items.

Each object that has texts shows them inline, one row per field and language
(``surveys.admin.texts``). An open wave's blocks and items are frozen
(``FrozenInstrumentMixin``). A panel's admins (``Panel.admins``) are shown to and assigned by
superusers only.
"""

from operator import attrgetter

from django.contrib import admin
from django.db.models import Count

from surveys import services
from surveys.admin.texts import TextsAdminMixin, text_column, texts_inline
from surveys.audit import audit_record
from surveys.models import (
    Actor,
    Block,
    Item,
    Panel,
    Role,
    Scale,
    Wave,
)


@admin.register(Actor)
class ActorAdmin(TextsAdminMixin, admin.ModelAdmin):
    list_display = ("code", "name_en", "name_ru", "kind", "order")
    list_filter = ("kind",)
    search_fields = ("code", "texts__text")
    list_editable = ("order",)
    inlines = [texts_inline("actor")]
    name_en = text_column("name", "en")
    name_ru = text_column("name", "ru")


@admin.register(Role)
class RoleAdmin(TextsAdminMixin, admin.ModelAdmin):
    list_display = ("code", "name_en", "name_ru", "source", "order", "is_active")
    list_filter = ("source", "is_active")
    search_fields = ("code", "texts__text")
    list_editable = ("order", "is_active")
    inlines = [texts_inline("role")]
    name_en = text_column("name", "en")
    name_ru = text_column("name", "ru")


@admin.register(Panel)
class PanelAdmin(TextsAdminMixin, admin.ModelAdmin):
    """Panels (codes and cities are public to every staff user), with the staff users who
    administer each: only a superuser sees and assigns those."""

    list_display = ("code", "city_en", "city_ru", "actor", "language")
    list_select_related = ("actor",)
    search_fields = ("code", "texts__text")
    filter_horizontal = ("admins",)
    inlines = [texts_inline("panel")]
    city_en = text_column("city", "en")
    city_ru = text_column("city", "ru")

    def get_exclude(self, request, obj=None):
        return () if request.user.is_superuser else ("admins",)

    def save_related(self, request, form, formsets, change):
        before = set(form.instance.admins.values_list("pk", flat=True)) if change else set()
        super().save_related(request, form, formsets, change)
        after = set(form.instance.admins.values_list("pk", flat=True))
        if before != after:
            audit_record(
                user=request.user,
                action="panel.admins",
                obj=form.instance,
                detail={"changes": {"admins": {"old": sorted(before), "new": sorted(after)}}},
            )


@admin.register(Scale)
class ScaleAdmin(TextsAdminMixin, admin.ModelAdmin):
    list_display = ("name", "min_value", "max_value", "low_label_en", "high_label_en")
    inlines = [texts_inline("scale")]
    low_label_en = text_column("low_label", "en")
    high_label_en = text_column("high_label", "en")


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
class BlockAdmin(TextsAdminMixin, FrozenInstrumentMixin, admin.ModelAdmin):
    list_display = ("__str__", "wave", "order", "holder", "subject", "perspective", "n_items")
    list_filter = ("wave", "perspective", "holder", "subject", "panels")
    list_select_related = ("wave", "holder", "subject")
    search_fields = ("holder__code", "subject__code", "wave__slug")
    filter_horizontal = ("panels",)
    inlines = [ItemInline, texts_inline("block")]

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
    search_fields = ("code", "role__code", "role__texts__text")
    readonly_fields = ("fielded_texts",)
    wave_path = "block.wave"
