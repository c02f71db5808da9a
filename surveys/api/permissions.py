"""Who may call which API view: an authenticated user holding the view's model permissions.

Each view lists the permissions it needs in ``required_permissions`` (``app_label.codename``,
all of them required). The groups of ``surveys.groups`` hand them out: researchers read the
instrument, the aggregates and the anonymised raw ratings and may export them; panel admins
read the instrument and import ratings; superusers may do everything. Anonymous users get a
401 from every view.
"""

from rest_framework.permissions import BasePermission


class HasRequiredPermissions(BasePermission):
    """Authenticated, and holds every permission in ``view.required_permissions``."""

    message = "You do not have permission to read this."

    def has_permission(self, request, view) -> bool:
        user = request.user
        if not (user and user.is_authenticated and user.is_active):
            return False
        return user.has_perms(self.required(request, view))

    @staticmethod
    def required(request, view) -> tuple[str, ...]:
        getter = getattr(view, "get_required_permissions", None)
        if getter is not None:
            return tuple(getter())
        required = getattr(view, "required_permissions", None)
        if required is None:
            raise AssertionError(f"{type(view).__name__} must set required_permissions.")
        return tuple(required)
