"""Waves in the admin: the lifecycle, the wave dashboard and the per-expert status page.

* ``admin/surveys/wave/dashboard/``: per panel invited / started / submitted, the wave's
  newest aggregation run, and the wave's actions (open, close, aggregate, invite, e-mail),
  the wave-wide ones after a confirmation page;
* ``admin/surveys/wave/experts/``: every invited expert's status, and the per-expert actions
  (send the invitation, remind, reopen);
* ``admin/surveys/wave/texts/``: the wave's texts per language (``surveys.admin.texts``).

The first two list only the panels the user administers.
"""

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import F
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.http import urlencode

from aggregation import selectors
from reports import progress as progress_report
from reports.downloads import csv_download
from surveys import confirmations, delphi, panel_admin, services
from surveys.access import panel_ids_administered, panels_scope
from surveys.admin.common import (
    CONFIRMED_ACTIONS,
    EXPERTS_PER_PAGE,
    AuditedAdminMixin,
    _confirmed,
    _skipped_text,
    can_see_identities,
    confirmation_page,
    identity_view_audit,
)
from surveys.admin.texts import (
    VIEW_PERMISSION,
    TextsAdminMixin,
    WaveTextsAdminMixin,
    texts_inline,
)
from surveys.models import (
    Expert,
    Invitation,
    Panel,
    Response,
    Wave,
)
from surveys.texts.selectors import text_subquery, wave_texts_by_language

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


class WaveForm(forms.ModelForm):
    """The wave's languages as checkboxes; English and Russian are always among them."""

    languages = forms.MultipleChoiceField(
        choices=settings.LANGUAGES,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="English and Russian always; every text of the instrument must exist in "
        "each language before the wave opens.",
    )

    class Meta:
        model = Wave
        fields = ("slug", "title", "languages", "opens_at", "closes_at", "is_synthetic")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.initial["languages"] = self.instance.language_codes

    def clean_languages(self) -> str:
        chosen = set(self.cleaned_data["languages"]) | {"en", "ru"}
        return ",".join(code for code, _name in settings.LANGUAGES if code in chosen)


class ExpertActionForm(forms.Form):
    ACTIONS = [
        ("send_invitation", "Send the invitation e-mail"),
        ("send_reminder", "Send a reminder"),
        ("reopen", "Reopen the submitted response"),
    ]
    action = forms.ChoiceField(choices=ACTIONS)


@admin.register(Wave)
class WaveAdmin(WaveTextsAdminMixin, TextsAdminMixin, AuditedAdminMixin, admin.ModelAdmin):
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
    actions = ["open_waves", "close_waves", "copy_instrument", "run_as_delphi"]
    audit_name = "wave"
    form = WaveForm
    inlines = [texts_inline("wave")]

    def get_readonly_fields(self, request, obj=None):
        # A wave is created as a draft; its status changes only through the lifecycle
        # actions (and their checks). Its languages are fixed once it opens.
        if obj is not None and obj.status != Wave.Status.DRAFT:
            return ("status", "languages", "created_at")
        return ("status", "created_at")

    @admin.display(description="panel tools")
    def panel_tools(self, obj):
        query = urlencode({"wave": obj.slug})
        return format_html(
            '<a href="{}?{}">dashboard</a> · <a href="{}?{}">experts</a> · '
            '<a href="{}?{}">texts</a>',
            reverse("admin:surveys_wave_dashboard"),
            query,
            reverse("admin:surveys_wave_experts"),
            query,
            reverse("admin:surveys_wave_texts"),
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

    @admin.action(
        description="Run the selected wave as round 1 of a Delphi study", permissions=["change"]
    )
    def run_as_delphi(self, request, queryset):
        for wave in queryset:
            try:
                study = delphi.delphi_study_start(wave=wave, user=request.user)
            except ValidationError as error:
                self.message_user(request, "; ".join(error.messages), messages.ERROR)
            else:
                url = reverse("admin:surveys_delphistudy_change", args=[study.pk])
                self.message_user(
                    request,
                    format_html(
                        'Wave {} is round 1 of a Delphi study: <a href="{}">set its rules</a>.',
                        wave.slug,
                        url,
                    ),
                    messages.SUCCESS,
                )

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
            *self.texts_urls(),
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
                header=progress_report.PROGRESS_CSV_HEADER,
                rows=progress_report.progress_csv_rows(progress),
                detail={"page": "wave_dashboard", "wave": wave.slug},
            )
        user = request.user
        context = self._page_context(
            request,
            title=f"Wave dashboard: {wave.title}" if wave else "Wave dashboard",
            wave=wave,
            waves=waves,
            rows=progress_report.progress_rows(progress),
            chart=progress_report.progress_svg(progress, title="Response by panel")
            if progress
            else "",
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
            texts=(
                wave_texts_by_language(wave=wave)
                if wave and user.has_perm(VIEW_PERMISSION)
                else None
            ),
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
                panels_scope(Panel.objects.all(), user=user, panel_field="pk")
                .annotate(city=text_subquery("panel", "city", "en"))
                .values_list("code", "city")
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
        header=progress_report.EXPERT_STATUS_CSV_HEADER,
        rows=progress_report.expert_status_csv_rows(statuses),
        detail={"page": "expert_status", "wave": wave.slug},
    )
