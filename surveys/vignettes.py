"""Writes of a wave's vignettes: the order the researcher assumes for them on each role.

A vignette is a hypothetical actor (``Actor.Kind.VIGNETTE``) described by a short text in
every language (its ``description``, an instrument text) that every panel rates on the same
roles, in blocks whose holder and subject are the vignette, perspective ``performance``.
Those blocks are made like any other (``surveys.services.block_create``). What the
researcher assumes about them, for example that on "regional leader" vignette A holds the role
less than B and B less than C, is a ``VignetteOrder`` written here: every vignette the wave
asks about the role ranked exactly once, checked before anything is written.
"""

from collections import Counter
from collections.abc import Sequence

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from surveys.audit import audit_record
from surveys.models import Actor, Role, VignetteOrder, VignetteRank, Wave
from surveys.services import instrument_assert_editable
from surveys.vignette_selectors import vignettes_by_role


def vignette_order_problems(*, wave: Wave, role: Role, vignettes: Sequence[Actor]) -> list[str]:
    """Why ``vignettes`` (lowest first) is not an order of the vignettes the wave asks about
    ``role``; empty when it is one. Every problem is named, not only the first."""
    rated = vignettes_by_role(wave_id=wave.pk).get(role.code, [])
    if not rated:
        return [
            _("Wave “%(wave)s” asks about role “%(role)s” for no vignette.")
            % {"wave": wave.slug, "role": role.code}
        ]
    codes = [vignette.code for vignette in vignettes]
    problems = [
        _("%(vignette)s is ranked %(count)s times; rank each vignette once.")
        % {"vignette": code, "count": count}
        for code, count in sorted(Counter(codes).items())
        if count > 1
    ]
    unknown = sorted(set(codes) - set(rated))
    if unknown:
        problems.append(
            _("Not vignettes the wave asks about role “%(role)s”: %(codes)s.")
            % {"role": role.code, "codes": ", ".join(unknown)}
        )
    missing = [code for code in rated if code not in codes]
    if missing:
        problems.append(
            _("Not ranked: %(codes)s. Rank every vignette the wave asks about role “%(role)s”.")
            % {"role": role.code, "codes": ", ".join(missing)}
        )
    return problems


@transaction.atomic
def vignette_order_set(
    *, wave: Wave, role: Role, vignettes: Sequence[Actor], user=None
) -> VignetteOrder:
    """Write the order assumed for the wave's vignettes on ``role``, lowest first, in place of
    any before; all or nothing. Refused while the wave is not a draft (the order is stated
    before the answers are seen) and when ``vignette_order_problems`` finds any problem."""
    wave = Wave.objects.select_for_update().get(pk=wave.pk)
    instrument_assert_editable(wave=wave)
    problems = vignette_order_problems(wave=wave, role=role, vignettes=vignettes)
    if problems:
        raise ValidationError(problems, code="vignette_order_invalid")
    order, _created = VignetteOrder.objects.get_or_create(wave=wave, role=role)
    order.ranks.all().delete()
    VignetteRank.objects.bulk_create(
        VignetteRank(order=order, vignette=vignette, rank=rank)
        for rank, vignette in enumerate(vignettes, start=1)
    )
    audit_record(
        user=user,
        action="vignette_order.set",
        obj=order,
        detail={"wave": wave.slug, "role": role.code, "order": [v.code for v in vignettes]},
    )
    return order


def vignette_orders_copy(*, source: Wave, target: Wave) -> int:
    """Copy the source wave's assumed orders to the next wave (``wave_copy_instrument``);
    returns how many."""
    orders = list(source.vignette_orders.prefetch_related("ranks"))
    copies = VignetteOrder.objects.bulk_create(
        VignetteOrder(wave=target, role_id=order.role_id) for order in orders
    )
    VignetteRank.objects.bulk_create(
        VignetteRank(order=copy, vignette_id=rank.vignette_id, rank=rank.rank)
        for order, copy in zip(orders, copies, strict=True)
        for rank in order.ranks.all()
    )
    return len(copies)
