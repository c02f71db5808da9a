"""Synthetic demo data: five panels, an instrument covering every comparison, two waves,
and a small two-round Delphi study (``surveys.demo_delphi``).

Every rating is drawn from a stated ground-truth profile (``TRUTH``, the seed abstract's
claims put into numbers) seen through the expert's scale use, plus noise: a per-panel shift
(so that differential item functioning is present to be corrected), a per-expert shift, a
per-expert stretch around the scale's midpoint and per-rating noise,

    rating = round(5 + stretch · (truth − 5) + panel shift + expert shift + noise), in 0–10.

Every panel also rates three vignettes (``VIGNETTE_TRUTH``: hypothetical states described in
``surveys.demo_texts``) on the same roles, through the same scale use; the order assumed for
them on each role is the order of their planted levels. Their ratings show each expert's
scale use, which the DIF-corrected estimators read.
Everything made here is labelled synthetic: wave titles, the ``is_synthetic`` flag, expert
names and e-mail addresses on the reserved ``example.org`` domain.

The instrument is fielded in all six languages (``surveys.demo_texts``): English and Russian
as reviewed texts, Kazakh, Armenian, Kyrgyz and Tajik as drafts awaiting a native speaker's
review. Each panel's experts read their capital's language by default.
"""

from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from surveys import demo_texts
from surveys.demo_delphi import delphi_demo_seed
from surveys.identity_crypto import blind_index
from surveys.models import (
    Actor,
    Expert,
    InstrumentText,
    Invitation,
    Panel,
    Perspective,
    Rating,
    Response,
    Role,
    Scale,
    Wave,
)
from surveys.services import (
    DEFAULT_SCALE_NAME,
    block_create,
    invitation_create,
    invitation_reissue_token,
    pseudonym_new,
    wave_close,
    wave_open,
)
from surveys.texts.services import text_set
from surveys.vignettes import vignette_order_set

RNG_SEED = 20260301
EXPERTS_PER_PANEL = 15
UNANSWERED_PER_PANEL_OPEN_WAVE = 2
DRAFT_PER_PANEL_OPEN_WAVE = 1
CANNOT_JUDGE_SHARE = 0.05

# panel code, actor, the language its experts read by default (cities: demo_texts)
PANELS = [
    ("MOW", "RUS", "ru"),
    ("AST", "KAZ", "kk"),
    ("YER", "ARM", "hy"),
    ("BIS", "KGZ", "ky"),
    ("DYU", "TJK", "tg"),
]
ALLIES = ["KAZ", "ARM", "KGZ", "TJK"]
PANEL_BIAS = {"MOW": 0.6, "AST": -0.4, "YER": -0.8, "BIS": 0.3, "DYU": 0.7}
EXPERT_BIAS_SD = 0.5
EXPERT_STRETCH_SD = 0.2
"""SD of the logarithm of an expert's stretch of the scale around its midpoint."""
SCALE_MIDPOINT = 5.0
NOISE_SD = 1.3

STATE_ROLES = [
    "regional_leader",
    "great_power",
    "regional_protector",
    "protectee",
    "faithful_ally",
    "independent",
    "active_independent",
    "mediator_integrator",
    "regional_subsystem_collaborator",
    "bridge",
]
RUSSIA_ROLES = [*STATE_ROLES, "bastion_of_revolution", "defender_of_faith"]
BASELINE = 2.5

# Ground truth: (holder, subject, perspective) -> {role: mean on 0–10} for wave 2025, with
# the 2021 values in ``TRUTH_2021`` where the abstract describes a change.
TRUTH: dict[tuple[str, str, str], dict[str, float]] = {
    ("RUS", "RUS", "conception"): {
        "great_power": 9.3,
        "regional_leader": 9.0,
        "regional_protector": 7.5,
        "bastion_of_revolution": 6.5,
        "defender_of_faith": 6.8,
        "independent": 6.0,
    },
    ("RUS", "RUS", "performance"): {
        "great_power": 6.5,
        "regional_leader": 4.8,
        "regional_protector": 3.8,
        "bastion_of_revolution": 5.0,
        "defender_of_faith": 5.0,
        "independent": 6.0,
    },
    ("RUS", "ARM", "expectation"): {"protectee": 8.6, "faithful_ally": 6.8},
    ("RUS", "KAZ", "expectation"): {
        "faithful_ally": 8.7,
        "regional_subsystem_collaborator": 6.2,
        "protectee": 4.5,
    },
    ("RUS", "KGZ", "expectation"): {"protectee": 8.3, "faithful_ally": 7.0},
    ("RUS", "TJK", "expectation"): {"protectee": 8.2, "faithful_ally": 6.9},
    ("ARM", "ARM", "conception"): {"independent": 8.6, "protectee": 3.5, "bridge": 5.0},
    ("KAZ", "KAZ", "conception"): {
        "active_independent": 8.7,
        "mediator_integrator": 8.2,
        "bridge": 6.5,
        "faithful_ally": 4.0,
    },
    ("KGZ", "KGZ", "conception"): {
        "regional_subsystem_collaborator": 8.4,
        "bridge": 7.9,
        "protectee": 5.5,
    },
    ("TJK", "TJK", "conception"): {"independent": 8.0, "protectee": 5.2},
    ("ARM", "ARM", "performance"): {"independent": 5.5, "protectee": 5.0},
    ("KAZ", "KAZ", "performance"): {
        "active_independent": 7.0,
        "mediator_integrator": 5.5,
        "faithful_ally": 5.0,
    },
    ("KGZ", "KGZ", "performance"): {"regional_subsystem_collaborator": 6.5, "protectee": 6.5},
    ("TJK", "TJK", "performance"): {"independent": 6.0, "protectee": 6.3},
    # What the allies expect of Russia: protection, not global leadership.
    **{
        (ally, "RUS", "expectation"): {
            "regional_protector": 7.8,
            "regional_leader": 4.5,
            "great_power": 3.0,
            "mediator_integrator": 6.0,
        }
        for ally in ALLIES
    },
    ("CSTO", "RUS", "expectation"): {"regional_protector": 8.5, "regional_leader": 8.0},
}
# Moscow's perception of what the allies expect of Russia (second-order view): "disloyal
# followers" who expect little leadership from Moscow.
MOSCOW_PERCEIVED = {
    (ally, "RUS", "expectation"): {
        "regional_protector": 5.5,
        "regional_leader": 2.5,
        "great_power": 2.0,
        "mediator_integrator": 3.0,
        "independent": 5.0,
    }
    for ally in ALLIES
}
TRUTH_2021: dict[tuple[str, str, str], dict[str, float]] = {
    ("RUS", "RUS", "conception"): {"bastion_of_revolution": 3.0, "defender_of_faith": 4.0},
    ("RUS", "RUS", "performance"): {"regional_leader": 6.5, "regional_protector": 6.0},
    ("ARM", "ARM", "conception"): {"independent": 6.0, "protectee": 6.5},
    ("TJK", "TJK", "conception"): {"independent": 5.5, "protectee": 6.5},
}


# The vignettes' planted levels per role, the same for every panel and wave: State A leans on
# a larger neighbour, State B balances and mediates, State C leads its region.
VIGNETTE_TRUTH: dict[str, dict[str, float]] = {
    "VIGA": {
        "regional_leader": 1.0,
        "great_power": 0.5,
        "regional_protector": 1.0,
        "protectee": 8.5,
        "faithful_ally": 8.5,
        "independent": 1.5,
        "active_independent": 1.0,
        "mediator_integrator": 1.5,
        "regional_subsystem_collaborator": 3.5,
        "bridge": 1.5,
    },
    "VIGB": {
        "regional_leader": 4.0,
        "great_power": 1.5,
        "regional_protector": 3.0,
        "protectee": 4.0,
        "faithful_ally": 2.5,
        "independent": 8.5,
        "active_independent": 8.5,
        "mediator_integrator": 8.5,
        "regional_subsystem_collaborator": 5.5,
        "bridge": 8.5,
    },
    "VIGC": {
        "regional_leader": 9.0,
        "great_power": 7.5,
        "regional_protector": 8.5,
        "protectee": 1.0,
        "faithful_ally": 1.5,
        "independent": 6.5,
        "active_independent": 5.5,
        "mediator_integrator": 5.0,
        "regional_subsystem_collaborator": 8.0,
        "bridge": 4.0,
    },
}
VIGNETTES = list(VIGNETTE_TRUTH)


def vignette_assumed_order(role: str) -> list[str]:
    """The vignettes in the order the researcher assumes for ``role``, lowest first."""
    return sorted(VIGNETTES, key=lambda code: VIGNETTE_TRUTH[code][role])


@dataclass(frozen=True)
class DemoResult:
    admin_username: str
    admin_password: str
    created: bool
    open_wave_links: list[str]


def truth(
    *, wave: str, viewer: str, holder: str, subject: str, perspective: str, role: str
) -> float:
    """The planted mean rating of ``role`` for the view (holder, subject, perspective); a
    vignette's is the same for every viewer and wave."""
    if subject in VIGNETTE_TRUTH:
        return VIGNETTE_TRUTH[subject][role]
    key = (holder, subject, perspective)
    profile = dict(TRUTH.get(key, {}))
    if viewer == "RUS":
        profile.update(MOSCOW_PERCEIVED.get(key, {}))
    if wave == "2021":
        profile.update(TRUTH_2021.get(key, {}))
    return profile.get(role, BASELINE)


def instrument_blocks() -> list[tuple[str, str, str, list[str], list[str]]]:
    """(holder, subject, perspective, roles, panels) of every block of the demo instrument.

    The blocks cover every named comparison: Russia's ego role and performance;
    for each ally what Moscow ascribes, what the ally conceives and enacts, and what the ally
    expects of Russia as seen from Moscow and from the ally's own capital. Last come the
    vignettes, one page each, rated by every panel on the same roles.
    """
    home = {actor: code for code, actor, _language in PANELS}
    all_panels = [code for code, *_ in PANELS]
    blocks = [
        ("RUS", "RUS", "conception", RUSSIA_ROLES, ["MOW"]),
        ("RUS", "RUS", "performance", RUSSIA_ROLES, all_panels),
        ("CSTO", "RUS", "expectation", STATE_ROLES, ["MOW"]),
    ]
    for ally in ALLIES:
        both = ["MOW", home[ally]]
        blocks += [
            ("RUS", ally, "expectation", STATE_ROLES, both),
            (ally, ally, "conception", STATE_ROLES, [home[ally]]),
            (ally, ally, "performance", STATE_ROLES, both),
            (ally, "RUS", "expectation", STATE_ROLES, both),
        ]
    blocks += [(code, code, "performance", STATE_ROLES, all_panels) for code in VIGNETTES]
    return blocks


def _texts_add(owner, field: str, texts: dict[str, str]) -> None:
    """Write the texts ``owner`` does not have yet: the project's own languages as reviewed,
    the drafted ones as drafts. A text an admin has written or reviewed stays."""
    have = set(
        InstrumentText.objects.filter(**{owner._meta.model_name: owner}, field=field).values_list(
            "language", flat=True
        )
    )
    for language, text in texts.items():
        if language not in have:
            text_set(
                owner=owner,
                field=field,
                language=language,
                text=text,
                reviewed=language in demo_texts.SOURCE_LANGUAGES,
            )


def _typology_texts() -> None:
    """The roles', actors' and scale's texts in the languages the reference data lacks."""
    for role in Role.objects.filter(code__in=demo_texts.ROLE_TEXTS):
        texts = demo_texts.ROLE_TEXTS[role.code]
        _texts_add(role, "name", {language: name for language, (name, _d) in texts.items()})
        _texts_add(role, "definition", {language: d for language, (_n, d) in texts.items()})
    for actor in Actor.objects.filter(code__in=demo_texts.ACTOR_NAMES):
        _texts_add(actor, "name", demo_texts.ACTOR_NAMES[actor.code])
    scale = Scale.objects.get(name=DEFAULT_SCALE_NAME)
    for field, labels in demo_texts.SCALE_LABELS.items():
        _texts_add(scale, field, labels)


def _vignettes() -> None:
    """The vignette actors, with their names and descriptions in every language."""
    for position, code in enumerate(VIGNETTES, start=1):
        actor, _ = Actor.objects.update_or_create(
            code=code, defaults={"kind": Actor.Kind.VIGNETTE, "order": 900 + position}
        )
        for field, texts in demo_texts.VIGNETTE_TEXTS[code].items():
            _texts_add(actor, field, texts)


def _panels() -> dict[str, Panel]:
    panels = {}
    for code, actor_code, language in PANELS:
        panels[code], _ = Panel.objects.update_or_create(
            code=code, defaults={"actor": Actor.objects.get(code=actor_code), "language": language}
        )
        _texts_add(panels[code], "city", demo_texts.CITY_NAMES[code])
    return panels


def _experts(panels: dict[str, Panel]) -> dict[str, list[Expert]]:
    experts: dict[str, list[Expert]] = {}
    languages = {code: language for code, _actor, language in PANELS}
    for code, panel in panels.items():
        language = languages[code]
        experts[code] = []
        for number in range(1, EXPERTS_PER_PANEL + 1):
            email = f"synthetic.{code.lower()}{number:02d}@example.org"
            expert, _ = Expert.objects.get_or_create(
                panel=panel,
                # E-mails are encrypted: an expert is found by the blind index of the e-mail.
                email_blind_index=blind_index(email),
                defaults={
                    "email": email,
                    "name": f"Synthetic Expert {code}-{number:02d}",
                    "affiliation": "Synthetic demo institute",
                    "language": language,
                },
            )
            experts[code].append(expert)
    return experts


def _build_wave(slug: str, panels: dict[str, Panel]) -> Wave:
    wave = Wave.objects.create(
        slug=slug,
        title=f"{slug} (synthetic demo)",
        languages=",".join(demo_texts.LANGUAGES),
        is_synthetic=True,
    )
    _texts_add(
        wave,
        "title",
        {language: title.format(year=slug) for language, title in demo_texts.WAVE_TITLES.items()},
    )
    _texts_add(wave, "landing", demo_texts.LANDING_TEXTS)
    actors = {actor.code: actor for actor in Actor.objects.all()}
    roles = {role.code: role for role in Role.objects.all()}
    for holder, subject, perspective, role_codes, panel_codes in instrument_blocks():
        block = block_create(
            wave=wave,
            holder=actors[holder],
            subject=actors[subject],
            perspective=Perspective(perspective),
            roles=[roles[code] for code in role_codes],
            panels=[panels[code] for code in panel_codes],
        )
        own_texts = (
            demo_texts.VIGNETTE_BLOCK_TEXTS
            if subject in VIGNETTE_TRUTH
            else demo_texts.BLOCK_TEXTS[perspective]
        )
        for field, texts in own_texts.items():
            _texts_add(block, field, texts)
    for code in STATE_ROLES:
        vignette_order_set(
            wave=wave,
            role=roles[code],
            vignettes=[actors[vignette] for vignette in vignette_assumed_order(code)],
        )
    return wave


def _fill_wave(
    wave: Wave,
    experts: dict[str, list[Expert]],
    rng: np.random.Generator,
    *,
    open_wave: bool,
    now: datetime,
    scale_rng: np.random.Generator | None = None,
) -> None:
    """Invite every expert and write synthetic ratings for those who answered.

    ``rng`` draws what the demo drew before it had vignettes (the experts' shifts, the real
    states' ratings), ``scale_rng`` the experts' stretches and the vignettes' ratings, so
    that adding the vignettes changed the real ratings by the stretch alone (by default
    ``rng`` draws both).
    """
    scale_rng = scale_rng or rng
    blocks = list(wave.blocks.select_related("holder", "subject").prefetch_related("panels"))
    items = {block.pk: list(block.items.select_related("role")) for block in blocks}
    ratings = []
    for panel_code, panel_experts in experts.items():
        viewer = panel_experts[0].panel.actor.code
        panel_blocks = [b for b in blocks if any(p.code == panel_code for p in b.panels.all())]
        for position, expert in enumerate(panel_experts):
            invitation, _token = invitation_create(expert=expert, wave=wave)
            unanswered = (
                open_wave and position >= EXPERTS_PER_PANEL - UNANSWERED_PER_PANEL_OPEN_WAVE
            )
            if unanswered:
                continue
            draft = (
                open_wave
                and position
                >= EXPERTS_PER_PANEL - UNANSWERED_PER_PANEL_OPEN_WAVE - DRAFT_PER_PANEL_OPEN_WAVE
            )
            response = Response.objects.create(
                wave=wave,
                panel=expert.panel,
                invitation=invitation,
                pseudonym=pseudonym_new(),
                status=Response.Status.DRAFT if draft else Response.Status.SUBMITTED,
                submitted_at=None if draft else now,
                consented_at=now,
                last_block=panel_blocks[-1].order,
            )
            invitation.status = Invitation.Status.STARTED if draft else Invitation.Status.SUBMITTED
            invitation.opened_at = now
            invitation.submitted_at = None if draft else now
            invitation.started_email = expert.email
            invitation.save(update_fields=["status", "opened_at", "submitted_at", "started_email"])
            expert_bias = rng.normal(0.0, EXPERT_BIAS_SD)
            stretch = float(np.exp(scale_rng.normal(0.0, EXPERT_STRETCH_SD)))
            for block in panel_blocks:
                draw = scale_rng if block.subject.kind == Actor.Kind.VIGNETTE else rng
                for item in items[block.pk]:
                    mean = truth(
                        wave=wave.slug,
                        viewer=viewer,
                        holder=block.holder.code,
                        subject=block.subject.code,
                        perspective=block.perspective,
                        role=item.role.code,
                    )
                    if draw.random() < CANNOT_JUDGE_SHARE:
                        ratings.append(Rating(response=response, item=item, cannot_judge=True))
                        continue
                    seen = SCALE_MIDPOINT + stretch * (mean - SCALE_MIDPOINT)
                    raw = seen + PANEL_BIAS[panel_code] + expert_bias + draw.normal(0, NOISE_SD)
                    confidence = int(draw.integers(2, 6)) if draw.random() < 0.7 else None
                    ratings.append(
                        Rating(
                            response=response,
                            item=item,
                            value=int(np.clip(round(raw), 0, 10)),
                            confidence=confidence,
                        )
                    )
    Rating.objects.bulk_create(ratings, batch_size=2000)


def _admin_user(username: str, password: str) -> None:
    user_model = get_user_model()
    user, _ = user_model.objects.get_or_create(username=username, defaults={"is_staff": True})
    user.is_staff = True
    user.is_superuser = True
    user.set_password(password)
    user.save()


def demo_links(*, wave: Wave, base_url: str) -> list[str]:
    """Re-issue the tokens of the wave's unanswered invitations and return their links.

    Only token hashes are stored, so the links printed last time cannot be shown again.
    """
    links = []
    for invitation in wave.invitations.filter(response__isnull=True).order_by("id"):
        token = invitation_reissue_token(invitation=invitation)
        links.append(f"{base_url.rstrip('/')}/s/{token}/")
    return links


@transaction.atomic
def demo_seed(*, base_url: str, admin_username: str, admin_password: str) -> DemoResult:
    """Build the demo once; on later runs only re-issue the printed links and the admin login."""
    _typology_texts()
    _vignettes()
    panels = _panels()
    experts = _experts(panels)
    created = not Wave.objects.filter(slug__in=["2021", "2025"]).exists()
    if created:
        rng = np.random.default_rng(RNG_SEED)
        scale_rng = np.random.default_rng(RNG_SEED + 1)
        old = wave_open(wave=_build_wave("2021", panels), now=datetime(2021, 3, 1, tzinfo=UTC))
        _fill_wave(
            old,
            experts,
            rng,
            open_wave=False,
            now=datetime(2021, 4, 15, tzinfo=UTC),
            scale_rng=scale_rng,
        )
        wave_close(wave=old, now=datetime(2021, 5, 31, tzinfo=UTC))
        new = wave_open(wave=_build_wave("2025", panels))
        _fill_wave(new, experts, rng, open_wave=True, now=timezone.now(), scale_rng=scale_rng)
        delphi_demo_seed(experts=experts, panels=panels)
    elif not Wave.objects.filter(slug="2025").exists():
        raise ValueError("The demo waves are half there; delete wave 2021 and run seed_demo again.")
    _admin_user(admin_username, admin_password)
    return DemoResult(
        admin_username=admin_username,
        admin_password=admin_password,
        created=created,
        open_wave_links=demo_links(wave=Wave.objects.get(slug="2025"), base_url=base_url),
    )
