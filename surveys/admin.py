"""Admin for the survey model, and the panel tools inside it.

Lifecycle actions and panel management call services (``surveys.services``,
``surveys.panel_admin``), which write the audit log. Identities (name, e-mail, affiliation)
need ``surveys.view_expert_identity``. Besides the model pages:

* ``admin/surveys/wave/dashboard/``: per panel invited / started / submitted, the wave's
  newest aggregation run, and the wave's actions (open, close, aggregate, invite, e-mail);
* ``admin/surveys/wave/experts/``: every invited expert's status, pseudonymous, and the
  per-expert actions (send the invitation, remind, reopen);
* ``admin/surveys/expert/import/``: importing experts from a CSV file with a preview.
"""

from collections.abc import Iterable
from operator import attrgetter

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, F
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.http import urlencode

from aggregation import charts, selectors
from aggregation.reports import csv_download
from project.uploads import upload_size_validator
from surveys import confirmations, data_changes, linkage, panel_admin, services
from surveys.access import panel_ids_administered, panels_scope
from surveys.audit import audit_record
from surveys.identity_crypto import blind_index
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
IMPORT_SALT = "surveys.expert-import"
IMPORT_PREVIEW_MAX_AGE = 60 * 60
EXPERTS_PER_PAGE = 200


def can_see_identities(request) -> bool:
    return request.user.has_perm(IDENTITY_PERMISSION)


def identity_view_audit(request, *, page: str, obj=None) -> None:
    """Record that a page showing experts' names and e-mails was opened (ids only)."""
    if request.method == "GET" and can_see_identities(request):
        audit_record(user=request.user, action="identity.view", obj=obj, detail={"page": page})


CONFIRMED_ACTIONS = {"close", "invite_all", "send_invitations", "send_reminders"}


def confirmation_page(
    admin_site, request, *, preview, hidden: list[tuple[str, str]], cancel_url: str, opts
) -> TemplateResponse:
    """The step before a wave-wide action: its sentence, then yes (POST again with
    ``confirm=yes`` and the same fields) or back."""
    context = {
        **admin_site.each_context(request),
        "opts": opts,
        "title": preview.title,
        "preview": preview,
        "hidden": hidden,
        "cancel_url": cancel_url,
        "is_nav_sidebar_enabled": False,
    }
    return TemplateResponse(request, "admin/surveys/confirm_action.html", context)


def _confirmed(request) -> bool:
    return request.POST.get("confirm") == "yes"


def answers_view_audit(request, *, page: str, object_id: str = "") -> None:
    """Record that a superuser, who also sees identities, opened pseudonymous answers."""
    if request.method == "GET" and request.user.is_superuser:
        audit_record(
            user=request.user,
            action="answers.view",
            detail={"page": page, **({"id": object_id} if object_id else {})},
        )


def _skipped_text(skipped: dict[str, int]) -> str:
    return "; ".join(f"{count} {reason}" for reason, count in sorted(skipped.items()))


def _audit_value(name: str, value):
    """A value as the audit log may hold it: identities as a blind-index reference (the
    first 16 hex digits of their keyed hash), other values as text."""
    if name in IDENTITY_FIELDS:
        return f"ref:{blind_index(str(value or ''))[:16]}" if value else ""
    if hasattr(value, "pk"):
        return value.pk
    return value if isinstance(value, int | bool | type(None)) else str(value)


class AuditedAdminMixin:
    """Saves and deletions in the admin's forms are written to the audit log: which fields
    changed, with old and new values (identities as blind-index references, never in
    clear)."""

    audit_name = ""

    def save_model(self, request, obj, form, change):
        old = {name: form.initial.get(name) for name in form.changed_data}
        super().save_model(request, obj, form, change)
        changes = {
            name: {
                "old": _audit_value(name, old[name]),
                "new": _audit_value(name, form.cleaned_data.get(name)),
            }
            for name in sorted(form.changed_data)
        }
        audit_record(
            user=request.user,
            action=f"{self.audit_name}.{'change' if change else 'create'}",
            obj=obj,
            detail={"fields": sorted(form.changed_data), "changes": changes} if change else {},
        )

    def delete_model(self, request, obj):
        audit_record(user=request.user, action=f"{self.audit_name}.delete", obj=obj)
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        ids = [str(pk) for pk in queryset.values_list("pk", flat=True)]
        audit_record(
            user=request.user,
            action=f"{self.audit_name}.delete",
            detail={"ids": ids, "count": len(ids)},
        )
        super().delete_queryset(request, queryset)


class PanelScopedAdminMixin:
    """Lists, pages, actions and deletions only for objects of the user's own panels
    (``surveys.access``); another panel's object answers 404, as if it did not exist."""

    panel_field = "panel"

    def _get_obj_does_not_exist_redirect(self, request, opts, object_id):
        # ModelAdmin redirects to the index with "… doesn't exist"; a 404 tells no more.
        raise Http404

    def get_queryset(self, request):
        return panels_scope(
            super().get_queryset(request), user=request.user, panel_field=self.panel_field
        )


class ReadOnlyDataAdminMixin:
    """Collected data is never edited in a form: no adding, no changing (the change page is a
    read-only view); deletion through the audited service.

    Separation of duties: a user who sees identities never sees per-response records, even
    pseudonymous ones. Otherwise an admin who reopens an expert's response, or reminds an
    expert, could watch which pseudonym changes and so join the expert to their answers. A
    superuser sees both (the safety model lets a superuser link only through audited
    actions), and every page of per-response records a superuser opens is audited.
    """

    def has_view_permission(self, request, obj=None):
        user = request.user
        if can_see_identities(request) and not user.is_superuser:
            return False
        return super().has_view_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return self.has_view_permission(request, obj) and super().has_delete_permission(
            request, obj
        )

    def changelist_view(self, request, extra_context=None):
        answers_view_audit(request, page=self.model._meta.model_name)
        return super().changelist_view(request, extra_context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        answers_view_audit(request, page=self.model._meta.model_name, object_id=object_id)
        return super().change_view(request, object_id, form_url, extra_context)

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


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
    """Panels (codes and cities are public to every staff user), with the staff users who
    administer each: only a superuser sees and assigns those."""

    list_display = ("code", "city_en", "city_ru", "actor")
    list_select_related = ("actor",)
    search_fields = ("code", "city_en", "city_ru")
    filter_horizontal = ("admins",)

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


# Waves: lifecycle, dashboard, per-expert status ---------------------------------------------


def _waves_chronological():
    return Wave.objects.order_by(F("opens_at").asc(nulls_last=True), "slug")


def _wave_from_request(request: HttpRequest, waves: list[Wave]) -> Wave | None:
    """The wave named by ``?wave=<slug>``, else the newest open one, else the newest."""
    slug = request.POST.get("wave") or request.GET.get("wave")
    chosen = next((wave for wave in waves if wave.slug == slug), None)
    if chosen is None:
        open_waves = [wave for wave in waves if wave.status == Wave.Status.OPEN]
        chosen = (open_waves or waves or [None])[-1]
    return chosen


class WaveCopyForm(forms.Form):
    slug = forms.SlugField(max_length=50, help_text="e.g. 2027; used by commands.")
    title = forms.CharField(max_length=200)

    def __init__(self, *args, source: Wave, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["title"].initial = f"{source.title} (next wave)"

    def clean_slug(self):
        slug = self.cleaned_data["slug"]
        if Wave.objects.filter(slug=slug).exists():
            raise ValidationError(f"A wave with the slug “{slug}” already exists.")
        return slug


class ExpertActionForm(forms.Form):
    ACTIONS = [
        ("send_invitation", "Send the invitation e-mail"),
        ("send_reminder", "Send a reminder"),
        ("reopen", "Reopen the submitted response"),
    ]
    action = forms.ChoiceField(choices=ACTIONS)


@admin.register(Wave)
class WaveAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = (
        "slug",
        "title",
        "status",
        "opens_at",
        "closes_at",
        "is_synthetic",
        "panel_tools",
    )
    list_filter = ("status", "is_synthetic")
    search_fields = ("slug", "title")
    actions = ["open_waves", "close_waves", "copy_instrument"]
    audit_name = "wave"

    def get_readonly_fields(self, request, obj=None):
        # A wave is created as a draft; its status changes only through the lifecycle
        # actions (and their checks).
        return ("status", "created_at")

    @admin.display(description="panel tools")
    def panel_tools(self, obj):
        query = urlencode({"wave": obj.slug})
        return format_html(
            '<a href="{}?{}">dashboard</a> · <a href="{}?{}">experts</a>',
            reverse("admin:surveys_wave_dashboard"),
            query,
            reverse("admin:surveys_wave_experts"),
            query,
        )

    def _run_lifecycle(self, request, queryset, service, verb):
        for wave in queryset:
            try:
                service(wave=wave, user=request.user)
            except ValidationError as error:
                self.message_user(request, "; ".join(error.messages), messages.ERROR)
            else:
                self.message_user(request, f"Wave {wave.slug} {verb}.", messages.SUCCESS)

    @admin.action(
        description="Open the selected draft waves (freezes the instrument)",
        permissions=["change"],
    )
    def open_waves(self, request, queryset):
        self._run_lifecycle(request, queryset, panel_admin.wave_open, "opened")

    @admin.action(description="Close the selected open waves…", permissions=["change"])
    def close_waves(self, request, queryset):
        if not _confirmed(request):
            waves = list(queryset)
            return confirmation_page(
                self.admin_site,
                request,
                preview=confirmations.waves_close_preview(waves=waves, user=request.user),
                hidden=[("action", "close_waves")]
                + [(admin.helpers.ACTION_CHECKBOX_NAME, str(wave.pk)) for wave in waves],
                cancel_url=reverse("admin:surveys_wave_changelist"),
                opts=self.model._meta,
            )
        self._run_lifecycle(request, queryset, panel_admin.wave_close, "closed")
        return None

    @admin.action(
        description="Start the next wave from the selected wave's instrument…",
        permissions=["add"],
    )
    def copy_instrument(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one wave to copy.", messages.WARNING)
            return None
        source = queryset.get()
        form = WaveCopyForm(request.POST if _confirmed(request) else None, source=source)
        if form.is_valid():
            try:
                target = services.wave_copy_instrument(
                    source=source,
                    slug=form.cleaned_data["slug"],
                    title=form.cleaned_data["title"],
                    user=request.user,
                )
            except ValidationError as error:
                form.add_error("slug", error)
            else:
                self.message_user(
                    request,
                    f"Draft wave {target.slug} created with the instrument of {source.slug}.",
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(reverse("admin:surveys_wave_change", args=[target.pk]))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": f"Start the next wave from “{source.title}”",
            "form": form,
            "source": source,
            "block_count": source.blocks.count(),
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
            "is_nav_sidebar_enabled": False,
        }
        return TemplateResponse(request, "admin/surveys/wave/copy_instrument.html", context)

    def get_urls(self):
        own = [
            path(
                "dashboard/",
                self.admin_site.admin_view(self.dashboard_view),
                name="surveys_wave_dashboard",
            ),
            path(
                "experts/",
                self.admin_site.admin_view(self.experts_view),
                name="surveys_wave_experts",
            ),
        ]
        return own + super().get_urls()

    def _page_context(self, request, *, title: str, wave: Wave | None, waves, **extra) -> dict:
        return {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": title,
            "wave": wave,
            "report_wave": wave,
            "waves": waves,
            "is_nav_sidebar_enabled": False,
            **extra,
        }

    # The dashboard --------------------------------------------------------------------------

    def dashboard_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        waves = list(_waves_chronological())
        wave = _wave_from_request(request, waves)
        if request.method == "POST" and wave is not None:
            action = request.POST.get("action", "")
            if not self._dashboard_may(request, wave, action):
                raise PermissionDenied
            back = f"{request.path}?{urlencode({'wave': wave.slug})}"
            if action in CONFIRMED_ACTIONS and not _confirmed(request):
                return confirmation_page(
                    self.admin_site,
                    request,
                    preview=confirmations.wave_action_preview(
                        wave=wave, action=action, user=request.user
                    ),
                    hidden=[("wave", wave.slug), ("action", action)],
                    cancel_url=back,
                    opts=self.model._meta,
                )
            self._dashboard_action(request, wave, action)
            return HttpResponseRedirect(back)
        panel_ids = panel_ids_administered(request.user)
        progress = selectors.wave_panel_progress(wave=wave, panel_ids=panel_ids) if wave else []
        if request.GET.get("format") == "csv" and wave is not None:
            return csv_download(
                request,
                name=["wave", wave.slug, "panels"],
                header=charts.PROGRESS_CSV_HEADER,
                rows=charts.progress_csv_rows(progress),
                detail={"page": "wave_dashboard", "wave": wave.slug},
            )
        user = request.user
        context = self._page_context(
            request,
            title=f"Wave dashboard: {wave.title}" if wave else "Wave dashboard",
            wave=wave,
            waves=waves,
            rows=charts.progress_rows(progress),
            chart=charts.progress_svg(progress, title="Response by panel") if progress else "",
            latest_run=selectors.run_latest(wave=wave) if wave else None,
            latest_complete=selectors.run_latest_complete(wave=wave) if wave else None,
            pending=selectors.aggregation_pending(wave=wave) if wave else None,
            can_change_wave=self.has_change_permission(request, wave),
            can_invite=user.has_perm("surveys.add_invitation"),
            can_send=user.has_perm("surveys.change_invitation"),
            can_see_status=user.has_perm("surveys.view_invitation"),
            can_see_reports=user.has_perm("aggregation.view_aggregationrun"),
            can_export=user.has_perm("aggregation.export_results"),
            csv_query=urlencode({"wave": wave.slug, "format": "csv"}) if wave else "",
            max_reminders=settings.INVITATION_MAX_REMINDERS,
            reminder_gap_hours=settings.INVITATION_REMINDER_MIN_GAP_HOURS,
        )
        return TemplateResponse(request, "admin/surveys/wave/dashboard.html", context)

    def _dashboard_may(self, request: HttpRequest, wave: Wave, action: str) -> bool:
        user = request.user
        needs = {
            "open": lambda: self.has_change_permission(request, wave),
            "close": lambda: self.has_change_permission(request, wave),
            "aggregate": lambda: self.has_change_permission(request, wave),
            "invite_all": lambda: user.has_perm("surveys.add_invitation"),
            "send_invitations": lambda: user.has_perm("surveys.change_invitation"),
            "send_reminders": lambda: user.has_perm("surveys.change_invitation"),
        }
        return action in needs and needs[action]()

    def _dashboard_action(self, request: HttpRequest, wave: Wave, action: str) -> None:
        user = request.user
        try:
            if action == "open":
                panel_admin.wave_open(wave=wave, user=user)
                self.message_user(request, f"Wave {wave.slug} opened.", messages.SUCCESS)
            elif action == "close":
                panel_admin.wave_close(wave=wave, user=user)
                self.message_user(request, f"Wave {wave.slug} closed.", messages.SUCCESS)
            elif action == "aggregate":
                if panel_admin.wave_aggregate_now(wave=wave, user=user):
                    self.message_user(
                        request,
                        "Aggregation queued; the results appear when a worker has run it.",
                        messages.SUCCESS,
                    )
                else:
                    self.message_user(
                        request,
                        "The broker is unreachable; the request is kept and sent when it is back.",
                        messages.WARNING,
                    )
            elif action == "invite_all":
                experts = panels_scope(
                    Expert.objects.filter(panel__blocks__wave=wave).distinct(), user=user
                )
                report = panel_admin.invitations_create_bulk(wave=wave, experts=experts, user=user)
                self.message_user(
                    request,
                    f"{report.created} invitations created; {report.already_invited} experts "
                    f"were already invited, {report.inactive} are inactive.",
                    messages.SUCCESS,
                )
            elif action == "send_invitations":
                invitations = panels_scope(
                    Invitation.objects.filter(wave=wave, status=Invitation.Status.CREATED),
                    user=user,
                    panel_field="expert__panel",
                )
                self._report_sending(
                    request, panel_admin.invitations_send(invitations=invitations, user=user)
                )
            elif action == "send_reminders":
                invitations = panels_scope(
                    Invitation.objects.filter(
                        wave=wave, status__in=[Invitation.Status.SENT, Invitation.Status.STARTED]
                    ),
                    user=user,
                    panel_field="expert__panel",
                )
                self._report_sending(
                    request, panel_admin.reminders_send(invitations=invitations, user=user)
                )
        except ValidationError as error:
            self.message_user(request, "; ".join(error.messages), messages.ERROR)

    def _report_sending(self, request, report: panel_admin.SendReport) -> None:
        text = f"{report.queued} e-mails queued."
        if report.skipped:
            text += f" Not sent: {_skipped_text(report.skipped)}."
        self.message_user(request, text, messages.SUCCESS if report.queued else messages.WARNING)

    # Per-expert status ----------------------------------------------------------------------

    def experts_view(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if not user.has_perm("surveys.view_invitation"):
            raise PermissionDenied
        waves = list(_waves_chronological())
        wave = _wave_from_request(request, waves)
        if request.method == "POST" and wave is not None:
            confirm = self._experts_confirmation(request, wave)
            if confirm is not None:
                return confirm
            self._experts_action(request, wave)
            return HttpResponseRedirect(request.get_full_path())
        panel = request.GET.get("panel") or None
        status = request.GET.get("status") or None
        with_identity = can_see_identities(request)
        panel_ids = panel_ids_administered(user)
        if wave is not None:
            identity_view_audit(request, page="expert status", obj=wave)
        statuses = (
            selectors.wave_expert_statuses(
                wave=wave,
                panel=panel,
                status=status,
                with_identity=with_identity,
                panel_ids=panel_ids,
            )
            if wave
            else []
        )
        if request.GET.get("format") == "csv" and wave is not None:
            pseudonymous = selectors.wave_expert_statuses(
                wave=wave, panel=panel, status=status, panel_ids=panel_ids
            )
            return csv_download_status(request, wave=wave, statuses=list(pseudonymous))
        page = Paginator(statuses, EXPERTS_PER_PAGE).get_page(request.GET.get("page"))
        query = {"wave": wave.slug if wave else "", "panel": panel or "", "status": status or ""}
        context = self._page_context(
            request,
            title=f"Experts of wave {wave.title}" if wave else "Experts",
            wave=wave,
            waves=waves,
            page=page,
            with_identity=with_identity,
            panels=list(
                panels_scope(Panel.objects.all(), user=user, panel_field="pk").values_list(
                    "code", "city_en"
                )
            ),
            statuses=Invitation.Status.choices,
            panel=panel,
            status=status,
            action_form=ExpertActionForm(),
            can_act=user.has_perm("surveys.change_invitation"),
            can_export=user.has_perm("aggregation.export_results"),
            filter_query=urlencode(query),
            csv_query=urlencode({**query, "format": "csv"}),
            max_reminders=settings.INVITATION_MAX_REMINDERS,
        )
        return TemplateResponse(request, "admin/surveys/wave/experts.html", context)

    def _experts_confirmation(self, request: HttpRequest, wave: Wave) -> HttpResponse | None:
        """The confirmation page before e-mailing the selected experts, or None."""
        form = ExpertActionForm(request.POST)
        if _confirmed(request) or not form.is_valid():
            return None
        action = form.cleaned_data["action"]
        ids = [value for value in request.POST.getlist("invitation") if value.isdigit()]
        if action == "reopen" or not ids:
            return None
        if not request.user.has_perm("surveys.change_invitation"):
            raise PermissionDenied
        return confirmation_page(
            self.admin_site,
            request,
            preview=confirmations.wave_action_preview(
                wave=wave, action=action, user=request.user, invitation_ids=ids
            ),
            hidden=[("wave", wave.slug), ("action", action)] + [("invitation", i) for i in ids],
            cancel_url=request.get_full_path(),
            opts=self.model._meta,
        )

    def _experts_action(self, request: HttpRequest, wave: Wave) -> None:
        user = request.user
        form = ExpertActionForm(request.POST)
        if not form.is_valid():
            self.message_user(request, "Choose an action.", messages.ERROR)
            return
        action = form.cleaned_data["action"]
        needed = "surveys.change_response" if action == "reopen" else "surveys.change_invitation"
        if not user.has_perm(needed):
            raise PermissionDenied
        ids = [value for value in request.POST.getlist("invitation") if value.isdigit()]
        invitations = panels_scope(
            Invitation.objects.filter(wave=wave, pk__in=ids), user=user, panel_field="expert__panel"
        )
        if not ids:
            self.message_user(request, "Select at least one expert.", messages.WARNING)
            return
        if action == "send_invitation":
            report = panel_admin.invitations_send(invitations=invitations, user=user)
            self._report_sending(request, report)
        elif action == "send_reminder":
            report = panel_admin.reminders_send(invitations=invitations, user=user)
            self._report_sending(request, report)
        else:
            reopened, problems = 0, []
            responses = Response.objects.filter(invitation__in=invitations)
            for response in responses.select_related("wave"):
                try:
                    panel_admin.response_reopen(response=response, user=user)
                except ValidationError as error:
                    problems.extend(error.messages)
                else:
                    reopened += 1
            self.message_user(request, f"{reopened} responses reopened.", messages.SUCCESS)
            for problem in sorted(set(problems)):
                self.message_user(request, problem, messages.WARNING)


def csv_download_status(request: HttpRequest, *, wave: Wave, statuses) -> HttpResponse:
    return csv_download(
        request,
        name=["wave", wave.slug, "experts"],
        header=charts.EXPERT_STATUS_CSV_HEADER,
        rows=charts.expert_status_csv_rows(statuses),
        detail={"page": "expert_status", "wave": wave.slug},
    )


# Experts: identity, import, bulk invitations ------------------------------------------------


class ExpertImportForm(forms.Form):
    file = forms.FileField(
        label="CSV file",
        help_text=(
            "UTF-8, with the header name,email,panel,language,affiliation; panel by code, "
            f"language one of the survey's codes; at most {panel_admin.IMPORT_MAX_BYTES // 1024}"
            " KB."
        ),
        validators=[upload_size_validator],
    )


class InviteForm(forms.Form):
    wave = forms.ModelChoiceField(
        queryset=Wave.objects.exclude(status=Wave.Status.CLOSED), empty_label=None
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The open wave first: that is where new experts are usually invited.
        open_wave = Wave.objects.filter(status=Wave.Status.OPEN).order_by("-opens_at").first()
        if open_wave is not None:
            self.fields["wave"].initial = open_wave.pk


@admin.register(Expert)
class ExpertAdmin(AuditedAdminMixin, PanelScopedAdminMixin, admin.ModelAdmin):
    """Names, e-mails and affiliations only for users with ``view_expert_identity``, and only
    of the panels the user administers."""

    list_filter = ("panel", "language", "is_active")
    list_select_related = ("panel",)
    actions = ["invite_to_wave"]
    audit_name = "expert"

    search_help_text = (
        "An exact e-mail address (letter case does not matter). Names, e-mails and "
        "affiliations are encrypted, so parts of them cannot be searched."
    )

    def get_list_display(self, request):
        base = ("__str__", "panel", "language", "is_active", "created_at")
        return (*base[:1], "name", "email", *base[1:]) if can_see_identities(request) else base

    def get_sortable_by(self, request):
        # Encrypted columns sort by ciphertext, that is randomly: not sortable.
        return [name for name in self.get_list_display(request) if name not in IDENTITY_FIELDS]

    def get_search_fields(self, request):
        # Only shows the search box; get_search_results does the search.
        return ("email",) if can_see_identities(request) else ()

    def get_search_results(self, request, queryset, search_term):
        """An exact e-mail, through the blind index: encrypted columns cannot be searched
        with SQL ``LIKE``."""
        term = search_term.strip()
        if not term or not can_see_identities(request):
            return queryset, False
        return queryset.with_email(term), False

    def get_exclude(self, request, obj=None):
        return () if can_see_identities(request) else IDENTITY_FIELDS

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "panel":
            kwargs["queryset"] = panels_scope(
                Panel.objects.all(), user=request.user, panel_field="pk"
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def has_add_permission(self, request):
        # Adding an expert means typing a name and an e-mail.
        return super().has_add_permission(request) and can_see_identities(request)

    def has_invite_permission(self, request) -> bool:
        return request.user.has_perm("surveys.add_invitation")

    def has_import_permission(self, request) -> bool:
        return self.has_add_permission(request)

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "can_import": self.has_import_permission(request)}
        identity_view_audit(request, page="expert list")
        return super().changelist_view(request, extra_context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        identity_view_audit(request, page="expert", obj=self.get_object(request, object_id))
        return super().change_view(request, object_id, form_url, extra_context)

    @admin.action(description="Invite the selected experts to a wave…", permissions=["invite"])
    def invite_to_wave(self, request, queryset):
        form = InviteForm(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            wave = form.cleaned_data["wave"]
            try:
                report = panel_admin.invitations_create_bulk(
                    wave=wave, experts=queryset, user=request.user
                )
            except ValidationError as error:
                self.message_user(request, "; ".join(error.messages), messages.ERROR)
                return None
            self.message_user(
                request,
                f"Wave {wave.slug}: {report.created} invitations created; "
                f"{report.already_invited} experts were already invited, "
                f"{report.inactive} are inactive.",
                messages.SUCCESS,
            )
            return None
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Invite experts to a wave",
            "form": form,
            "experts": queryset.select_related("panel"),
            "count": queryset.count(),
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/surveys/expert/invite.html", context)

    def get_urls(self):
        own = [
            path(
                "import/",
                self.admin_site.admin_view(self.import_view),
                name="surveys_expert_import",
            ),
        ]
        return own + super().get_urls()

    def import_view(self, request: HttpRequest) -> HttpResponse:
        """Upload → preview (every row checked, errors by line) → confirm (all or nothing)."""
        if not self.has_import_permission(request):
            raise PermissionDenied
        report, payload, form, file_error = None, "", ExpertImportForm(), ""
        if request.method == "POST" and request.POST.get("step") == "confirm":
            try:
                text = signing.loads(
                    request.POST.get("payload", ""),
                    salt=IMPORT_SALT,
                    max_age=IMPORT_PREVIEW_MAX_AGE,
                )
                rows = panel_admin.experts_csv_read(data=text.encode("utf-8"))
            except signing.BadSignature:
                file_error = "The preview has expired; upload the file again."
            except panel_admin.ImportFileError as error:
                file_error = str(error)
            else:
                report = panel_admin.experts_import(rows=rows, user=request.user)
                if report.imported:
                    self.message_user(
                        request, f"{report.imported} experts imported.", messages.SUCCESS
                    )
                    return HttpResponseRedirect(reverse("admin:surveys_expert_changelist"))
                payload = request.POST.get("payload", "")
        elif request.method == "POST":
            form = ExpertImportForm(request.POST, request.FILES)
            if form.is_valid():
                upload = form.cleaned_data["file"]
                try:
                    panel_admin.experts_csv_size_check(size=upload.size)
                    data = upload.read()
                    rows = panel_admin.experts_csv_read(data=data)
                except panel_admin.ImportFileError as error:
                    file_error = str(error)
                else:
                    report = panel_admin.experts_import_check(rows=rows, user=request.user)
                    payload = signing.dumps(
                        data.decode("utf-8-sig"), salt=IMPORT_SALT, compress=True
                    )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Import experts from a CSV file",
            "form": form,
            "report": report,
            "payload": payload,
            "file_error": file_error,
            "columns": panel_admin.IMPORT_COLUMNS,
            "languages": [code for code, _name in settings.LANGUAGES],
            "panels": list(
                panels_scope(Panel.objects.all(), user=request.user, panel_field="pk").values_list(
                    "code", "city_en"
                )
            ),
            "max_kb": panel_admin.IMPORT_MAX_BYTES // 1024,
            "is_nav_sidebar_enabled": False,
        }
        return TemplateResponse(request, "admin/surveys/expert/import.html", context)


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


class DataDeletionAdminMixin:
    """Deletions of collected data go through ``surveys.data_changes`` (scoped, audited,
    refused in a closed wave except for a superuser, aggregation scheduled)."""

    def delete_model(self, request, obj):
        self.delete_queryset(request, self.model.objects.filter(pk=obj.pk))

    def delete_queryset(self, request, queryset):
        raise NotImplementedError


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
