"""A test wave with vignettes: the rated test wave plus three vignettes that both panels rate
on the same roles, Moscow two points above the vignettes' levels and Yerevan one below."""

import pytest

from aggregation.estimator_runs import CORRECTED_ESTIMATORS
from surveys import services
from surveys.models import Actor, Block, Rating, Response

VIGNETTE_LEVELS = {"VGA": 2, "VGB": 5, "VGC": 8}
PANEL_SHIFT = {"MOW": 2, "YER": -1}


@pytest.fixture
def vignette_wave(rated_wave, roles, panels, settings):
    """``rated_wave`` with a vignette block per vignette (kind ``vignette``, perspective
    performance) answered by both panels, each response rating every vignette item."""
    # Every corrected estimator, the IRT's fast fit too (the test settings leave it out).
    settings.AGGREGATION_CORRECTED_ESTIMATORS = CORRECTED_ESTIMATORS
    role_set = [roles["protectee"], roles["independent"], roles["faithful_ally"]]
    blocks = []
    for code in VIGNETTE_LEVELS:
        actor = Actor.objects.create(code=code, kind="vignette")
        blocks.append(_block_direct(rated_wave, actor, role_set, panels))
    ratings = []
    for position, response in enumerate(
        Response.objects.filter(wave=rated_wave).select_related("panel").order_by("pk")
    ):
        for block in blocks:
            for index, item in enumerate(block.items.order_by("order")):
                noise = (position + index) % 3 - 1
                value = VIGNETTE_LEVELS[block.subject.code] + PANEL_SHIFT[response.panel.code]
                ratings.append(
                    Rating(response=response, item=item, value=min(10, max(0, value + noise)))
                )
    Rating.objects.bulk_create(ratings)
    return rated_wave


def _block_direct(wave, actor, role_set, panels) -> Block:
    """A block added to an open wave (``block_create`` is for draft waves)."""
    from surveys.models import Item

    order = (wave.blocks.order_by("-order").values_list("order", flat=True).first() or 0) + 1
    block = Block.objects.create(
        wave=wave,
        order=order,
        holder=actor,
        subject=actor,
        perspective="performance",
        scale=wave.blocks.first().scale,
    )
    block.panels.set([panels["MOW"], panels["YER"]])
    for index, role in enumerate(role_set, start=1):
        Item.objects.create(
            block=block,
            role=role,
            order=index,
            code=services.item_code(
                perspective="performance", holder=actor, subject=actor, role=role
            ),
        )
    return block
