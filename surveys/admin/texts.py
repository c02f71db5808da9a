"""The instrument's texts in the admin: inlines on their owners, the list of all texts, and a
wave's texts page (completeness per language, drafts to review, export and import).

Permissions: ``surveys.view_instrumenttext`` to see a wave's texts and export them,
``surveys.change_instrumenttext`` to edit and import them, ``surveys.review_instrumenttext``
to mark them reviewed (the groups of ``surveys.groups``). Texts belong to no panel, so the
panel scope of ``surveys.access`` does not narrow them; a wave that is not a draft keeps its
own texts and its blocks' as they were fielded.
"""

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.http import urlencode

from project.uploads import upload_size_validator
from surveys.models import TEXT_FIELDS, InstrumentText, Wave
from surveys.texts import exchange, importing
from surveys.texts.checks import script_problem
from surveys.texts.documents import DocumentError
from surveys.texts.selectors import wave_texts_by_language
from surveys.texts.services import REVIEW_PERMISSION, texts_edit, texts_review

VIEW_PERMISSION = "surveys.view_instrumenttext"
CHANGE_PERMISSION = importing.CHANGE_PERMISSION

# Inlines on the owners --------------------------------------------------------------------


class InstrumentTextForm(forms.ModelForm):
    class Meta:
        model = InstrumentText
        fields = ("field", "language", "text")
        widgets = {"text": forms.Textarea(attrs={"rows": 2, "cols": 60})}

    def clean(self):
        cleaned = super().clean()
        problem = script_problem(cleaned.get("text") or "", cleaned.get("language") or "")
        if problem:
            self.add_error("text", problem)
        return cleaned


class InstrumentTextInline(admin.TabularInline):
    """An owner's texts; a new or changed text becomes a draft (``texts_edit``)."""

    model = InstrumentText
    form = InstrumentTextForm
    fields = ("field", "language", "text", "status", "reviewed_by", "reviewed_at")
    readonly_fields = ("status", "reviewed_by", "reviewed_at")
    extra = 0
    verbose_name = "text"
    verbose_name_plural = "texts (a new or changed text is a draft until reviewed)"

    def formfield_for_choice_field(self, db_field, request, **kwargs):
        if db_field.name == "field":
            kwargs["choices"] = [
                (field, InstrumentText.Field(field).label) for field in TEXT_FIELDS[self.fk_name]
            ]
        return super().formfield_for_choice_field(db_field, request, **kwargs)

    def _frozen(self, obj) -> bool:
        wave = obj if isinstance(obj, Wave) else getattr(obj, "wave", None)
        return wave is not None and wave.status != Wave.Status.DRAFT

    def has_add_permission(self, request, obj=None):
        return not self._frozen(obj) and super().has_add_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        return not self._frozen(obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return not self._frozen(obj) and super().has_delete_permission(request, obj)


def texts_inline(owner: str) -> type[InstrumentTextInline]:
    return type(f"{owner.title()}TextInline", (InstrumentTextInline,), {"fk_name": owner})


def text_column(field: str, language: str):
    """A changelist column with the owner's ``field`` in ``language`` (prefetched texts)."""

    @admin.display(description=f"{field} ({language})")
    def column(self, obj):
        return obj.text_map(field).get(language, "–")

    column.__name__ = f"{field}_{language}"
    return column


class TextsAdminMixin:
    """An owner's admin: its texts inline, saved through ``texts_edit`` (drafts, audit)."""

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("texts")

    def save_formset(self, request, form, formset, change):
        if formset.model is not InstrumentText:
            return super().save_formset(request, form, formset, change)
        changes, removed = [], []
        for text_form in formset.forms:
            before = text_form.instance
            if text_form in formset.deleted_forms:
                if before.pk:
                    removed.append((text_form.initial["field"], text_form.initial["language"]))
                continue
            if not text_form.has_changed() or not text_form.cleaned_data:
                continue
            data = text_form.cleaned_data
            moved = before.pk and (
                text_form.initial.get("field"),
                text_form.initial.get("language"),
            ) != (data["field"], data["language"])
            if moved:
                removed.append((text_form.initial["field"], text_form.initial["language"]))
            changes.append((data["field"], data["language"], data["text"]))
        if changes or removed:
            texts_edit(owner=form.instance, changes=changes, removed=removed, user=request.user)
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        return None


# All texts --------------------------------------------------------------------------------


@admin.register(InstrumentText)
class InstrumentTextAdmin(admin.ModelAdmin):
    """Every text, to find and review; texts are edited on their owner's page."""

    list_display = ("__str__", "field", "language", "short_text", "status", "reviewed_by")
    list_filter = ("language", "status", "field")
    list_select_related = ("reviewed_by",)
    search_fields = ("text",)
    actions = ["mark_reviewed"]

    @admin.display(description="text")
    def short_text(self, obj):
        return obj.text if len(obj.text) <= 80 else obj.text[:79] + "…"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_review_permission(self, request):
        return request.user.has_perm(REVIEW_PERMISSION)

    @admin.action(description="Mark the selected texts reviewed", permissions=["review"])
    def mark_reviewed(self, request, queryset):
        count = texts_review(texts=queryset, user=request.user)
        self.message_user(request, f"{count} texts marked reviewed.", messages.SUCCESS)


# A wave's texts page ----------------------------------------------------------------------


class TextsImportForm(forms.Form):
    file = forms.FileField(
        help_text="An XLIFF 2.0 or CSV file exported here and translated.",
        validators=[upload_size_validator],
    )


class WaveTextsAdminMixin:
    """``admin/surveys/wave/texts/?wave=<slug>``: a wave's texts per language, their export
    and import, and the drafts to review."""

    def texts_urls(self) -> list:
        return [
            path(
                "texts/",
                self.admin_site.admin_view(self.texts_view),
                name="surveys_wave_texts",
            ),
            path(
                "texts/export/",
                self.admin_site.admin_view(self.texts_export_view),
                name="surveys_wave_texts_export",
            ),
        ]

    def _texts_wave(self, request: HttpRequest) -> Wave:
        if not request.user.has_perm(VIEW_PERMISSION):
            raise PermissionDenied
        slug = request.POST.get("wave") or request.GET.get("wave") or ""
        wave = Wave.objects.filter(slug=slug).first()
        if wave is None:
            raise Http404
        return wave

    def texts_export_view(self, request: HttpRequest) -> HttpResponse:
        wave = self._texts_wave(request)
        language = request.GET.get("language", "")
        file_format = request.GET.get("format", "xliff")
        if language not in dict(settings.LANGUAGES) or file_format not in exchange.FORMATS:
            return HttpResponse("Unknown language or format.", status=400)
        document = exchange.document_build(wave=wave, language=language)
        response = HttpResponse(
            exchange.document_render(document, file_format),
            content_type=exchange.CONTENT_TYPES[file_format],
        )
        name = exchange.document_file_name(document, file_format)
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response

    def texts_view(self, request: HttpRequest) -> HttpResponse:
        wave = self._texts_wave(request)
        user = request.user
        back = f"{request.path}?{urlencode({'wave': wave.slug})}"
        if request.method == "POST":
            action = request.POST.get("action")
            if action == "import":
                self._texts_import(request, wave)
            elif action == "review":
                self._texts_review(request, wave)
            return HttpResponseRedirect(back)
        languages = wave_texts_by_language(wave=wave, languages=list(dict(settings.LANGUAGES)))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": f"Texts of wave {wave.title}",
            "wave": wave,
            "report_wave": wave,
            "languages": languages,
            "formats": exchange.FORMATS,
            "import_form": TextsImportForm(),
            "can_import": user.has_perm(CHANGE_PERMISSION) and wave.status == Wave.Status.DRAFT,
            "can_review": user.has_perm(REVIEW_PERMISSION),
            "is_nav_sidebar_enabled": False,
        }
        return TemplateResponse(request, "admin/surveys/wave/texts.html", context)

    def _texts_import(self, request: HttpRequest, wave: Wave) -> None:
        if not request.user.has_perm(CHANGE_PERMISSION):
            raise PermissionDenied
        form = TextsImportForm(request.POST, request.FILES)
        if not form.is_valid():
            for error in form.errors.get("file", ["Choose a file."]):
                self.message_user(request, error, messages.ERROR)
            return
        try:
            document = exchange.document_parse(form.cleaned_data["file"].read())
            report = importing.texts_import(wave=wave, document=document, user=request.user)
        except (DocumentError, ValidationError) as error:
            self.message_user(request, "Nothing was imported.", messages.ERROR)
            for message in error.messages:
                self.message_user(request, message, messages.ERROR)
            return
        text = (
            f"Imported {report.language}: {report.created} new, {report.changed} changed, "
            f"{report.unchanged} unchanged, {report.reviewed} marked reviewed, "
            f"{report.untranslated} left untranslated."
        )
        if report.reviews_not_allowed:
            text += (
                f" {report.reviews_not_allowed} texts marked reviewed in the file were stored "
                "as drafts: you may not review texts."
            )
        self.message_user(request, text, messages.SUCCESS)

    def _texts_review(self, request: HttpRequest, wave: Wave) -> None:
        if not request.user.has_perm(REVIEW_PERMISSION):
            raise PermissionDenied
        language = request.POST.get("language", "")
        if language not in dict(settings.LANGUAGES):
            raise Http404
        chosen = {value for value in request.POST.getlist("text") if value.isdigit()}
        drafts = {
            str(text.pk): text
            for texts in wave_texts_by_language(wave=wave, languages=[language])
            for _slot, text in texts.drafts
        }
        texts = [drafts[pk] for pk in sorted(chosen & set(drafts))]
        if not texts:
            self.message_user(request, "Select at least one draft text.", messages.WARNING)
            return
        count = texts_review(texts=texts, user=request.user, wave=wave)
        self.message_user(request, f"{count} texts marked reviewed.", messages.SUCCESS)
