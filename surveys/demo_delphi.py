"""A small synthetic Delphi study for the demo: two rounds, two panels, some experts revising.

Round 1 asks six experts of Moscow and of Yerevan two blocks; round 2 shows them their panel's
median and IQR, and about half of them move towards it, a few away from it with a reason.
Both rounds are closed, so the study has ended and its report shows both rounds, the
stability figures and the reasons. Labelled synthetic like the rest of the demo.
"""

from datetime import UTC, datetime, timedelta

import numpy as np

from surveys import delphi, demo_texts
from surveys.models import (
    Actor,
    DelphiStudy,
    Expert,
    Invitation,
    Item,
    Panel,
    Perspective,
    Rating,
    Response,
    RevisionJustification,
    Role,
    Wave,
)
from surveys.services import block_create, invitation_create, pseudonym_new, wave_close, wave_open
from surveys.texts.services import text_set

SLUG = "delphi-2019"
EXPERTS = 6
PANELS = ("MOW", "YER")
BLOCKS = [
    ("RUS", "ARM", Perspective.EXPECTATION, {"protectee": 8.0, "faithful_ally": 6.5}),
    ("ARM", "ARM", Perspective.CONCEPTION, {"independent": 7.5, "protectee": 4.0, "bridge": 5.5}),
]
PANEL_SHIFT = {"MOW": 0.8, "YER": -0.8}
REASONS = [
    "Synthetic reason: the new security agreement changes the picture.",
    "Synthetic reason: official statements since the last round point the other way.",
]


def _respond(invitation: Invitation, values: dict, when: datetime) -> Response:
    response = Response.objects.create(
        wave=invitation.wave,
        panel=invitation.expert.panel,
        invitation=invitation,
        pseudonym=pseudonym_new(),
        status=Response.Status.SUBMITTED,
        consented_at=when,
        submitted_at=when,
    )
    Invitation.objects.filter(pk=invitation.pk).update(
        status=Invitation.Status.SUBMITTED, opened_at=when, submitted_at=when
    )
    Rating.objects.bulk_create(
        Rating(response=response, item_id=item_id, value=value) for item_id, value in values.items()
    )
    return response


def delphi_demo_seed(*, experts: dict[str, list[Expert]], panels: dict[str, Panel]) -> DelphiStudy:
    rng = np.random.default_rng(20190401)
    actors = {actor.code: actor for actor in Actor.objects.all()}
    roles = {role.code: role for role in Role.objects.all()}
    wave = Wave.objects.create(
        slug=SLUG,
        title="Delphi study 2019 (synthetic demo)",
        languages=",".join(demo_texts.LANGUAGES),
        is_synthetic=True,
    )
    for language, title in demo_texts.WAVE_TITLES.items():
        # The project's own languages reviewed, the drafted ones draft, as in the other waves.
        text_set(
            owner=wave,
            field="title",
            language=language,
            text=title.format(year="2019, Delphi"),
            reviewed=language in demo_texts.SOURCE_LANGUAGES,
        )
    truth = {}
    for holder, subject, perspective, role_means in BLOCKS:
        block = block_create(
            wave=wave,
            holder=actors[holder],
            subject=actors[subject],
            perspective=perspective,
            roles=[roles[code] for code in role_means],
            panels=[panels[code] for code in PANELS],
        )
        for item in block.items.select_related("role"):
            truth[item.code] = role_means[item.role.code]
    # Before the demo's first wave (2021), so that the waves' order for trends stays 2021, 2025.
    start = datetime(2019, 2, 1, tzinfo=UTC)
    wave = wave_open(wave=wave, now=start)
    study = delphi.delphi_study_start(
        wave=wave, title="Roles in the South Caucasus (synthetic Delphi demo)"
    )
    round_one_items = [
        (item, truth[item.code])
        for item in Item.objects.filter(block__wave=wave).order_by("block__order", "order")
    ]
    first = {}
    for code in PANELS:
        for expert in experts[code][:EXPERTS]:
            invitation, _token = invitation_create(expert=expert, wave=wave)
            values = {
                item: int(np.clip(round(mean + PANEL_SHIFT[code] + rng.normal(0, 1.8)), 0, 10))
                for item, mean in round_one_items
            }
            _respond(
                invitation, {item.pk: v for item, v in values.items()}, start + timedelta(days=3)
            )
            first[expert.pk] = {item.code: v for item, v in values.items()}
    wave_close(wave=wave, now=start + timedelta(days=14))
    round_two, _ = delphi.delphi_round_open(study=study, now=start + timedelta(days=15))
    figures = study.rounds.get(number=1).results["items"]
    items = {item.code: item for block in round_two.wave.blocks.all() for item in block.items.all()}
    reasons = 0
    for invitation in round_two.wave.invitations.select_related("expert__panel"):
        panel = invitation.expert.panel.code
        values, texts = {}, {}
        for code, item in items.items():
            before = first[invitation.expert_id][code]
            shown = figures[code]["scopes"][panel]
            value = before
            if rng.random() < 0.5:  # revise half-way towards the panel's median
                value = round((before + shown["median"]) / 2)
            elif rng.random() < 0.2:  # a few move away, and say why
                value = int(np.clip(before + (2 if before >= shown["median"] else -2), 0, 10))
                texts[item.pk] = REASONS[reasons % len(REASONS)]
                reasons += 1
            values[item.pk] = value
        response = _respond(invitation, values, start + timedelta(days=18))
        RevisionJustification.objects.bulk_create(
            RevisionJustification(response=response, item_id=item_id, text=text)
            for item_id, text in texts.items()
        )
    wave_close(wave=round_two.wave, now=start + timedelta(days=28))  # the last round: ends it
    study.refresh_from_db()
    return study
