"""The cube's dimensions as filters, shared by every list of the API, and the filters of the
instrument's lists (actors, roles, waves, items).

Each dimension takes one or several codes (``?subject=ARM,KAZ`` or ``?subject=ARM&subject=KAZ``)
in any case; a code that names nothing is a 400 listing the codes that do
(``surveys.api.filtering``). The codes are the instrument's own (actors, panels, roles, wave
slugs), never anything about an expert.
"""

import django_filters

from surveys.api.filtering import (
    BooleanValueFilter,
    ListFilter,
    PooledListFilter,
    Vocabulary,
)
from surveys.models import Actor, Item, Panel, Perspective, Response, Role, Wave

POOLED = "ALL"

WAVES = Vocabulary(stored=lambda: Wave.objects.order_by("slug").values_list("slug", flat=True))
PANELS = Vocabulary(stored=lambda: Panel.objects.values_list("code", flat=True))
PANELS_OR_POOLED = Vocabulary(fixed=(POOLED,), stored=PANELS.stored)
ACTORS = Vocabulary(stored=lambda: Actor.objects.values_list("code", flat=True))
ROLES = Vocabulary(stored=lambda: Role.objects.values_list("code", flat=True))
PERSPECTIVES = Vocabulary(fixed=tuple(Perspective.values))
ITEMS = Vocabulary(
    stored=lambda: Item.objects.order_by("code").values_list("code", flat=True).distinct()
)
PSEUDONYMS = Vocabulary(
    pattern=r"^[Rr]-[0-9A-Za-z]{1,13}$", normalise=str.upper, pattern_code="invalid_pseudonym"
)
SOURCES = Vocabulary(fixed=tuple(Response.Source.values))


def wave_filter(field_name: str) -> ListFilter:
    return ListFilter(field_name, vocabulary=WAVES, help_text="Wave slug (of `waves/`).")


def panel_filter(field_name: str) -> ListFilter:
    return ListFilter(field_name, vocabulary=PANELS, help_text="Panel code (of `panels/`).")


def panel_or_pooled_filter(field_name: str = "panel__code") -> PooledListFilter:
    """Panel codes, with ``ALL`` for the statistics pooled over all panels."""
    return PooledListFilter(
        field_name,
        pooled=POOLED,
        null_field=field_name.split("__")[0],
        vocabulary=PANELS_OR_POOLED,
        help_text="Panel code (of `panels/`), or `ALL` for all panels pooled.",
    )


def actor_filter(field_name: str, what: str) -> ListFilter:
    return ListFilter(field_name, vocabulary=ACTORS, help_text=f"{what} actor code (of `actors/`).")


def perspective_filter(field_name: str) -> ListFilter:
    return ListFilter(field_name, vocabulary=PERSPECTIVES, help_text="Perspective of the item.")


def role_filter(field_name: str) -> ListFilter:
    return ListFilter(field_name, vocabulary=ROLES, help_text="Role code (of `roles/`).")


class ActorFilter(django_filters.FilterSet):
    kind = ListFilter("kind", vocabulary=Vocabulary(fixed=tuple(Actor.Kind.values)))

    class Meta:
        model = Actor
        fields = []


class RoleFilter(django_filters.FilterSet):
    is_active = BooleanValueFilter("is_active", help_text="Roles asked in new waves.")

    class Meta:
        model = Role
        fields = []


class WaveFilter(django_filters.FilterSet):
    status = ListFilter("status", vocabulary=Vocabulary(fixed=tuple(Wave.Status.values)))
    is_synthetic = BooleanValueFilter("is_synthetic", help_text="Synthetic (demo) waves.")

    class Meta:
        model = Wave
        fields = []


class ItemFilter(django_filters.FilterSet):
    wave = wave_filter("block__wave__slug")
    panel = ListFilter(
        "block__panels__code",
        vocabulary=PANELS,
        distinct=True,
        help_text="Items asked of this panel (code of `panels/`).",
    )
    holder = actor_filter("block__holder__code", "Holder")
    subject = actor_filter("block__subject__code", "Subject")
    perspective = perspective_filter("block__perspective")
    role = role_filter("role__code")
    code = ListFilter("code", vocabulary=ITEMS, help_text="Item code.")

    class Meta:
        model = Item
        fields = []
