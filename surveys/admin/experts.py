"""Experts in the admin: identities for the identity permission only, the CSV import with
a preview (``admin/surveys/expert/import/``), and invitations to a wave."""

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from project.uploads import upload_size_validator
from surveys import expert_import, panel_admin
from surveys.access import panels_scope
from surveys.admin.common import (
    IDENTITY_FIELDS,
    IMPORT_PREVIEW_MAX_AGE,
    IMPORT_SALT,
    AuditedAdminMixin,
    PanelScopedAdminMixin,
    can_see_identities,
    identity_view_audit,
)
from surveys.models import (
    Expert,
    Panel,
    Wave,
)
from surveys.texts.selectors import text_subquery

# Experts: identity, import, bulk invitations ------------------------------------------------


class ExpertImportForm(forms.Form):
    file = forms.FileField(
        label="CSV file",
        help_text=(
            "UTF-8, with the header name,email,panel,language,affiliation; panel by code, "
            f"language one of the survey's codes; at most {expert_import.IMPORT_MAX_BYTES // 1024}"
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

    def formfield_for_choice_field(self, db_field, request, **kwargs):
        field = super().formfield_for_choice_field(db_field, request, **kwargs)
        if db_field.name == "language" and request.resolver_match.url_name.endswith("_add"):
            # A new expert starts in the panel's language unless another one is chosen.
            field.required = False
            field.choices = [("", "(the panel's language)"), *settings.LANGUAGES]
            field.initial = ""
        return field

    def save_model(self, request, obj, form, change):
        if not obj.language:
            obj.language = obj.panel.language
        super().save_model(request, obj, form, change)

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
                rows = expert_import.experts_csv_read(data=text.encode("utf-8"))
            except signing.BadSignature:
                file_error = "The preview has expired; upload the file again."
            except expert_import.ImportFileError as error:
                file_error = str(error)
            else:
                report = expert_import.experts_import(rows=rows, user=request.user)
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
                    expert_import.experts_csv_size_check(size=upload.size)
                    data = upload.read()
                    rows = expert_import.experts_csv_read(data=data)
                except expert_import.ImportFileError as error:
                    file_error = str(error)
                else:
                    report = expert_import.experts_import_check(rows=rows, user=request.user)
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
            "columns": expert_import.IMPORT_COLUMNS,
            "languages": [code for code, _name in settings.LANGUAGES],
            "panels": list(
                panels_scope(Panel.objects.all(), user=request.user, panel_field="pk")
                .annotate(city=text_subquery("panel", "city", "en"))
                .values_list("code", "city")
            ),
            "max_kb": expert_import.IMPORT_MAX_BYTES // 1024,
            "is_nav_sidebar_enabled": False,
        }
        return TemplateResponse(request, "admin/surveys/expert/import.html", context)
