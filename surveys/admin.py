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
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.http import urlencode

from aggregation import charts, selectors
from aggregation.reports import csv_download
from project.uploads import upload_size_validator
from surveys import panel_admin, services
from surveys.audit import audit_record
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


def _skipped_text(skipped: dict[str, int]) -> str:
    return "; ".join(f"{count} {reason}" for reason, count in sorted(skipped.items()))


class AuditedAdminMixin:
    """Saves and deletions in the admin's forms are written to the audit log (field names,
    never values)."""

    audit_name = ""

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        audit_record(
            user=request.user,
            action=f"{self.audit_name}.{'change' if change else 'create'}",
            obj=obj,
            detail={"fields": sorted(form.changed_data)} if change else {},
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
    actions = ["open_waves", "close_waves"]
    audit_name = "wave"

    def get_readonly_fields(self, request, obj=None):
        # Status changes only through the lifecycle actions (and their checks).
        return ("status", "created_at") if obj else ("created_at",)

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

    @admin.action(description="Close the selected open waves", permissions=["change"])
    def close_waves(self, request, queryset):
        self._run_lifecycle(request, queryset, panel_admin.wave_close, "closed")

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
            self._dashboard_action(request, wave, request.POST.get("action", ""))
            return HttpResponseRedirect(f"{request.path}?{urlencode({'wave': wave.slug})}")
        progress = selectors.wave_panel_progress(wave=wave) if wave else []
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

    def _dashboard_action(self, request: HttpRequest, wave: Wave, action: str) -> None:
        user = request.user
        needs = {
            "open": self.has_change_permission(request, wave),
            "close": self.has_change_permission(request, wave),
            "aggregate": self.has_change_permission(request, wave),
            "invite_all": user.has_perm("surveys.add_invitation"),
            "send_invitations": user.has_perm("surveys.change_invitation"),
            "send_reminders": user.has_perm("surveys.change_invitation"),
        }
        if not needs.get(action, False):
            raise PermissionDenied
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
                experts = Expert.objects.filter(panel__blocks__wave=wave).distinct()
                report = panel_admin.invitations_create_bulk(wave=wave, experts=experts, user=user)
                self.message_user(
                    request,
                    f"{report.created} invitations created; {report.already_invited} experts "
                    f"were already invited, {report.inactive} are inactive.",
                    messages.SUCCESS,
                )
            elif action == "send_invitations":
                invitations = Invitation.objects.filter(wave=wave, status=Invitation.Status.CREATED)
                self._report_sending(
                    request, panel_admin.invitations_send(invitations=invitations, user=user)
                )
            elif action == "send_reminders":
                invitations = Invitation.objects.filter(
                    wave=wave, status__in=[Invitation.Status.SENT, Invitation.Status.STARTED]
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
            self._experts_action(request, wave)
            return HttpResponseRedirect(request.get_full_path())
        panel = request.GET.get("panel") or None
        status = request.GET.get("status") or None
        with_identity = can_see_identities(request)
        if wave is not None:
            identity_view_audit(request, page="expert status", obj=wave)
        statuses = (
            selectors.wave_expert_statuses(
                wave=wave, panel=panel, status=status, with_identity=with_identity
            )
            if wave
            else []
        )
        if request.GET.get("format") == "csv" and wave is not None:
            pseudonymous = selectors.wave_expert_statuses(wave=wave, panel=panel, status=status)
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
            panels=list(Panel.objects.values_list("code", "city_en")),
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
        invitations = Invitation.objects.filter(wave=wave, pk__in=ids)
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


@admin.register(Expert)
class ExpertAdmin(AuditedAdminMixin, admin.ModelAdmin):
    """Names, e-mails and affiliations only for users with ``view_expert_identity``."""

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
                    report = panel_admin.experts_import_check(rows=rows)
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
            "panels": list(Panel.objects.values_list("code", "city_en")),
            "max_kb": panel_admin.IMPORT_MAX_BYTES // 1024,
            "is_nav_sidebar_enabled": False,
        }
        return TemplateResponse(request, "admin/surveys/expert/import.html", context)


@admin.register(Invitation)
class InvitationAdmin(AuditedAdminMixin, admin.ModelAdmin):
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
    readonly_fields = (
        "token_hash",
        "created_at",
        "opened_at",
        "submitted_at",
        "sent_at",
        "reminders_sent",
        "last_reminder_at",
    )
    raw_id_fields = ("expert",)
    actions = ["send_invitations", "send_reminders"]
    audit_name = "invitation"

    def _report(self, request, report: panel_admin.SendReport) -> None:
        text = f"{report.queued} e-mails queued."
        if report.skipped:
            text += f" Not sent: {_skipped_text(report.skipped)}."
        self.message_user(request, text, messages.SUCCESS if report.queued else messages.WARNING)

    @admin.action(description="E-mail the invitation (not sent yet)", permissions=["change"])
    def send_invitations(self, request, queryset):
        self._report(request, panel_admin.invitations_send(invitations=queryset, user=request.user))

    @admin.action(description="E-mail a reminder (within the limits)", permissions=["change"])
    def send_reminders(self, request, queryset):
        self._report(request, panel_admin.reminders_send(invitations=queryset, user=request.user))


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
    actions = ["reopen_responses"]

    @admin.action(
        description="Reopen the selected submitted responses (back to draft)",
        permissions=["change"],
    )
    def reopen_responses(self, request, queryset):
        reopened, problems = 0, set()
        for response in queryset.filter(status=Response.Status.SUBMITTED):
            try:
                panel_admin.response_reopen(response=response, user=request.user)
            except ValidationError as error:
                problems.update(error.messages)
            else:
                reopened += 1
        self.message_user(request, f"{reopened} responses reopened.", messages.SUCCESS)
        for problem in sorted(problems):
            self.message_user(request, problem, messages.WARNING)


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
