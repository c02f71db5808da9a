"""Audited changes to collected data: deleting responses and ratings.

Answers are never edited by hand (the admin's forms for responses, ratings and comments are
read-only); the only changes are the expert's own, through the questionnaire, and the
deletions here. Each deletion is scoped to the admin's panels, refused in a closed wave
unless a superuser makes it, written to the audit log with what was removed (pseudonyms,
item codes and values, never an identity), and schedules the wave's aggregation again.
"""

from collections.abc import Iterable

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils.translation import gettext as _

from aggregation.scheduling import aggregation_schedule
from surveys.access import panel_assert_administered
from surveys.audit import audit_record
from surveys.models import Rating, Response, Wave


def _assert_may_change(*, user, panel_id: int, wave: Wave) -> None:
    panel_assert_administered(user=user, panel_id=panel_id)
    if wave.status == Wave.Status.CLOSED and not getattr(user, "is_superuser", False):
        raise PermissionDenied(
            _("Wave “%(wave)s” is closed: only a superuser can change its data.")
            % {"wave": wave.slug}
        )


@transaction.atomic
def responses_delete(*, responses: Iterable[Response], user) -> int:
    """Delete responses with their ratings and comments; all or none. Returns how many."""
    chosen = list(
        Response.objects.select_for_update(of=("self",))
        .select_related("wave", "panel")
        .filter(pk__in=[response.pk for response in responses])
        .order_by("pseudonym")
    )
    for response in chosen:
        _assert_may_change(user=user, panel_id=response.panel_id, wave=response.wave)
    for response in chosen:
        audit_record(
            user=user,
            action="response.delete",
            obj=response,
            detail={
                "changes": {
                    "response": {
                        "old": {
                            "pseudonym": response.pseudonym,
                            "panel": response.panel.code,
                            "status": response.status,
                            "ratings": response.ratings.count(),
                        },
                        "new": None,
                    }
                },
                "wave": response.wave.slug,
            },
        )
    Response.objects.filter(pk__in=[response.pk for response in chosen]).delete()
    for wave_id in sorted({response.wave_id for response in chosen}):
        aggregation_schedule(wave_id=wave_id)
    return len(chosen)


@transaction.atomic
def ratings_delete(*, ratings: Iterable[Rating], user) -> int:
    """Delete single ratings (the item becomes unanswered); all or none. Returns how many."""
    chosen = list(
        Rating.objects.select_for_update(of=("self",))
        .select_related("response__wave", "response__panel", "item")
        .filter(pk__in=[rating.pk for rating in ratings])
        .order_by("response__pseudonym", "item__code")
    )
    for rating in chosen:
        _assert_may_change(user=user, panel_id=rating.response.panel_id, wave=rating.response.wave)
    for rating in chosen:
        audit_record(
            user=user,
            action="rating.delete",
            obj=rating,
            detail={
                "changes": {
                    "rating": {
                        "old": {
                            "pseudonym": rating.response.pseudonym,
                            "item": rating.item.code,
                            "value": rating.value,
                            "cannot_judge": rating.cannot_judge,
                            "confidence": rating.confidence,
                        },
                        "new": None,
                    }
                },
                "wave": rating.response.wave.slug,
            },
        )
    Rating.objects.filter(pk__in=[rating.pk for rating in chosen]).delete()
    for wave_id in sorted({rating.response.wave_id for rating in chosen}):
        aggregation_schedule(wave_id=wave_id)
    return len(chosen)
