"""Who may call which API view: an authenticated user holding the view's model permissions.

Each view lists the permissions it needs in ``required_permissions`` (``app_label.codename``,
all of them required). The groups of ``surveys.groups`` hand them out: researchers read the
instrument, the aggregates and the anonymised raw ratings and may export them; panel admins
read the instrument and import ratings; superusers may do everything. Anonymous users get a
401 from every view. A user who sees experts' identities never reads per-response ratings
(``separated_from_raw_ratings``), whatever permissions they hold.
"""

from rest_framework.permissions import BasePermission

RAW_RATINGS = "surveys.view_anonymised_ratings"
IDENTITY_PERMISSION = "surveys.view_expert_identity"


def separated_from_raw_ratings(user) -> bool:
    """Separation of duties: who sees identities never reads per-response ratings (a
    superuser excepted), or reopening or reminding one expert and watching which pseudonym
    changes would join the expert to their answers."""
    return not user.is_superuser and user.has_perm(IDENTITY_PERMISSION)


class HasRequiredPermissions(BasePermission):
    """Authenticated, and holds every permission in ``view.required_permissions``."""

    message = "You do not have permission to read this."

    def has_permission(self, request, view) -> bool:
        user = request.user
        if not (user and user.is_authenticated and user.is_active):
            return False
        required = self.required(request, view)
        if RAW_RATINGS in required and separated_from_raw_ratings(user):
            self.message = (
                "Users who can see experts' identities cannot read per-response ratings "
                "(separation of duties); ask a researcher's account."
            )
            return False
        return user.has_perms(required)

    @staticmethod
    def required(request, view) -> tuple[str, ...]:
        getter = getattr(view, "get_required_permissions", None)
        if getter is not None:
            return tuple(getter())
        required = getattr(view, "required_permissions", None)
        if required is None:
            raise AssertionError(f"{type(view).__name__} must set required_permissions.")
        return tuple(required)
