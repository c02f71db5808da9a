"""Who may touch which panel: the object-level scope of panel admins.

A staff user administers the panels that list them in ``Panel.admins``; a superuser
administers all. Experts, invitations, responses, ratings and comments belong to a panel, so
every admin page and every service that reads or changes them narrows its queryset with
``panels_scope`` or checks one object with ``panel_assert_administered``. The scope is
enforced in querysets and services, not by hiding links: an id of another panel's object
gives the same 404 (pages) or refusal (services) as an id that does not exist.

Researchers' pseudonymous reads (API and exports of ratings) are governed by their
permissions, not by this scope: they never carry an identity.
"""

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.utils.translation import gettext as _

ALL_PANELS = None


def panel_ids_administered(user) -> frozenset[int] | None:
    """The ids of the panels ``user`` administers, or ``ALL_PANELS`` (None) for a superuser.

    ``user=None`` is the system itself (a management command run by the operator, or a
    Celery task acting on an admin's earlier, checked request): all panels. An anonymous or
    inactive user administers none.
    """
    if user is None:
        return ALL_PANELS
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return frozenset()
    if user.is_superuser:
        return ALL_PANELS
    cached = getattr(user, "_administered_panel_ids", None)
    if cached is None:
        cached = frozenset(user.administered_panels.values_list("pk", flat=True))
        user._administered_panel_ids = cached
    return cached


def panels_scope(queryset: QuerySet, *, user, panel_field: str = "panel") -> QuerySet:
    """``queryset`` narrowed to the objects whose ``panel_field`` is one of ``user``'s panels."""
    panel_ids = panel_ids_administered(user)
    if panel_ids is ALL_PANELS:
        return queryset
    return queryset.filter(**{f"{panel_field}__in": panel_ids})


def panel_is_administered(*, user, panel_id: int) -> bool:
    panel_ids = panel_ids_administered(user)
    return panel_ids is ALL_PANELS or panel_id in panel_ids


def panel_assert_administered(*, user, panel_id: int) -> None:
    """Refuse (``PermissionDenied``) when ``user`` does not administer the panel.

    ``user=None`` is the system itself (a Celery task acting on an admin's earlier, checked
    request) and may act on any panel.
    """
    if user is None:
        return
    if not panel_is_administered(user=user, panel_id=panel_id):
        raise PermissionDenied(_("This object belongs to a panel you do not administer."))
