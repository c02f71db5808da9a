"""Reads of a wave's vignettes: which subjects are vignettes, which roles each is rated on,
and the order the researcher assumes for them per role.

A vignette is an actor of kind ``vignette`` (``Actor.Kind.VIGNETTE``) that is the subject
of a block of the wave (holder and subject, perspective ``performance``). Its ratings are
ordinary cells of the cube; the estimators of ``aggregation.estimators`` read each expert's
scale use off them, and leave them out of the substantive results.
"""

from collections import defaultdict

from surveys.models import Actor, Item, VignetteRank


def vignette_subject_codes(*, wave_id: int) -> list[str]:
    """The codes of the wave's vignette subjects, in the actors' order (one query)."""
    subjects = _vignette_items(wave_id).values("block__subject")
    return list(
        Actor.objects.filter(kind=Actor.Kind.VIGNETTE, pk__in=subjects)
        .order_by("order", "code")
        .values_list("code", flat=True)
    )


def _vignette_items(wave_id: int):
    return Item.objects.filter(
        block__wave_id=wave_id, block__subject__kind=Actor.Kind.VIGNETTE
    ).order_by()


def vignettes_by_role(*, wave_id: int) -> dict[str, list[str]]:
    """``{role code: [vignette codes]}``: the vignettes the wave asks about each role, in the
    actors' order (one query)."""
    rows = _vignette_items(wave_id).values_list(
        "role__code", "block__subject__code", "block__subject__order"
    )
    by_role: dict[str, set[tuple[int, str]]] = defaultdict(set)
    for role, code, order in rows:
        by_role[role].add((order, code))
    return {role: [code for _order, code in sorted(found)] for role, found in by_role.items()}


def vignette_orders(*, wave_id: int) -> dict[str, tuple[str, ...]]:
    """``{role code: (vignette codes, lowest first)}``: the order the researcher assumes for
    the wave's vignettes on each role (two queries).

    Only complete orders are returned: one that does not rank exactly the vignettes the wave
    asks about the role (a vignette block added or changed after the order was written) is
    left out, as if no order were stated for that role.
    """
    ranked: dict[str, list[str]] = defaultdict(list)
    rows = (
        VignetteRank.objects.filter(order__wave_id=wave_id)
        .order_by("order__role__code", "rank")
        .values_list("order__role__code", "vignette__code")
    )
    for role, code in rows:
        ranked[role].append(code)
    rated = vignettes_by_role(wave_id=wave_id)
    return {
        role: tuple(codes)
        for role, codes in ranked.items()
        if sorted(codes) == sorted(rated.get(role, ()))
    }
