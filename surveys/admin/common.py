"""What the survey admin's pages share: identity checks, audit helpers, confirmation pages,
and the mixins that scope pages to the user's panels and keep collected data read-only."""

from django.http import Http404
from django.template.response import TemplateResponse

from surveys.access import panels_scope
from surveys.audit import audit_record
from surveys.identity_crypto import blind_index

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


class DataDeletionAdminMixin:
    """Deletions of collected data go through ``surveys.data_changes`` (scoped, audited,
    refused in a closed wave except for a superuser, aggregation scheduled)."""

    def delete_model(self, request, obj):
        # One path for a single object and a selection: the class's ``delete_queryset``.
        self.delete_queryset(request, self.model.objects.filter(pk=obj.pk))
