"""seed_demo: the panels, two waves, labelled synthetic, idempotent, with working links."""

from io import StringIO

import pytest
from django.core.management import call_command

from surveys.models import Block, Expert, Invitation, Panel, Rating, Response, Wave
from surveys.services import token_hash
from surveys.texts.selectors import wave_texts_by_language

pytestmark = pytest.mark.django_db


def seed() -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def test_demo_builds_panels_waves_and_experts():
    seed()
    assert set(Panel.objects.values_list("code", flat=True)) == {"MOW", "AST", "YER", "BIS", "DYU"}
    assert Wave.objects.get(slug="2021").status == Wave.Status.CLOSED
    assert Wave.objects.get(slug="2025").status == Wave.Status.OPEN
    for panel in Panel.objects.all():
        assert panel.experts.count() == 15


def test_demo_is_labelled_synthetic_everywhere():
    output = seed()
    assert "SYNTHETIC" in output
    for wave in Wave.objects.all():
        assert wave.is_synthetic and "synthetic" in wave.title
    assert all("Synthetic" in name for name in Expert.objects.values_list("name", flat=True))
    assert all(
        email.endswith("@example.org") for email in Expert.objects.values_list("email", flat=True)
    )


def test_running_twice_duplicates_nothing():
    seed()
    counts = [m.objects.count() for m in (Wave, Expert, Invitation, Response, Rating)]
    second = seed()
    assert [m.objects.count() for m in (Wave, Expert, Invitation, Response, Rating)] == counts
    assert "nothing duplicated" in second


def test_printed_links_are_the_unanswered_invitations_and_reissued_each_run():
    first = [line.strip() for line in seed().splitlines() if "/s/" in line]
    second = [line.strip() for line in seed().splitlines() if "/s/" in line]
    unanswered = Invitation.objects.filter(wave__slug="2025", response__isnull=True)
    assert len(second) == unanswered.count() > 0
    assert set(first).isdisjoint(second)
    tokens = [link.rstrip("/").rsplit("/", 1)[1] for link in second]
    assert all(link.startswith("http://127.0.0.1:8000/s/") for link in second)
    assert {token_hash(t) for t in tokens} == set(unanswered.values_list("token_hash", flat=True))


def test_demo_plants_the_seeds_role_profiles():
    """Raw means already show the planted contrasts (the aggregation tests check the stats)."""
    from django.db.models import Avg

    seed()

    def mean(panel, holder, subject, perspective, role):
        return Rating.objects.filter(
            response__wave__slug="2025",
            response__panel__code=panel,
            response__status="submitted",
            item__block__holder__code=holder,
            item__block__subject__code=subject,
            item__block__perspective=perspective,
            item__role__code=role,
        ).aggregate(m=Avg("value"))["m"]

    assert mean("MOW", "RUS", "ARM", "expectation", "protectee") > 8
    assert mean("YER", "ARM", "ARM", "conception", "independent") > 7
    assert mean("YER", "ARM", "ARM", "conception", "protectee") < 4


def test_each_panels_experts_read_their_capitals_language():
    seed()
    languages = dict(Expert.objects.values_list("panel__code", "language").distinct())
    assert languages == {"MOW": "ru", "AST": "kk", "YER": "hy", "BIS": "ky", "DYU": "tg"}
    for code, language in languages.items():
        invitation = Invitation.objects.filter(wave__slug="2025", expert__panel__code=code).first()
        assert invitation.language == language


def test_the_demo_instrument_is_complete_in_six_languages_drafted_ones_draft():
    seed()
    for wave in Wave.objects.all():
        assert wave.language_codes == ["en", "ru", "kk", "hy", "ky", "tg"]
        languages = {texts.language: texts for texts in wave_texts_by_language(wave=wave)}
        for code, texts in languages.items():
            assert texts.complete, (wave.slug, code, [slot.key for slot in texts.missing])
            if code in ("en", "ru"):
                assert not texts.drafts, (wave.slug, code)
            else:
                assert len(texts.drafts) == texts.total, (wave.slug, code)
    kazakh = next(
        texts
        for texts in wave_texts_by_language(wave=Wave.objects.get(slug="2025"))
        if texts.language == "kk"
    )
    keys = {slot.key for slot, _text in kazakh.drafts}
    assert {"wave.title", "wave.landing", "block.1.title", "block.1.prompt"} <= keys
    assert {"role.protectee.definition", "actor.KAZ.name", "panel.AST.city"} <= keys
    # The scale is keyed by its id, which depends on what ran before (restored reference data).
    scale = Block.objects.filter(wave__slug="2025").values_list("scale_id", flat=True).first()
    assert {f"scale.{scale}.low_label", f"scale.{scale}.high_label"} <= keys


@pytest.mark.parametrize(
    ("panel", "language", "words"),
    [
        ("AST", "kk", ["Өңірдегі сыртқы саяси рөлдер", "Астана", "тексеруін күтуде"]),
        ("YER", "hy", ["Արտաքին քաղաքական դերերը", "Երևան", "ստուգմանը"]),
        ("BIS", "ky", ["Аймактагы тышкы саясий ролдор", "Бишкек", "текшерүүсүн"]),
        ("DYU", "tg", ["Нақшҳои сиёсати хориҷӣ", "Душанбе", "соҳибзабон"]),
    ],
)
def test_a_demo_link_opens_in_its_panels_language(client, panel, language, words):
    tokens = [
        line.strip().rstrip("/").rsplit("/", 1)[1] for line in seed().splitlines() if "/s/" in line
    ]
    links = {token_hash(token): token for token in tokens}
    invitation = Invitation.objects.filter(
        token_hash__in=list(links), expert__panel__code=panel
    ).first()
    html = client.get(f"/s/{links[invitation.token_hash]}/").content.decode()
    assert f'<html lang="{language}"' in html
    for word in words:
        assert word in html, word
    assert ' lang="ru"' not in html.replace('<option value="ru" lang="ru"', ""), "no fallback"


def test_every_panel_rates_the_same_vignettes_through_its_own_scale_use():
    """Three vignettes on the demo's roles, rated by all five panels in both waves, with the
    order the researcher assumes per role; the panels' planted shifts show in them."""
    from django.db.models import Avg

    from surveys.demo import PANEL_BIAS, STATE_ROLES
    from surveys.vignette_selectors import vignette_orders, vignette_subject_codes

    seed()
    for wave in Wave.objects.filter(slug__in=["2021", "2025"]):
        assert vignette_subject_codes(wave_id=wave.pk) == ["VIGA", "VIGB", "VIGC"]
        blocks = wave.blocks.filter(subject__kind="vignette").prefetch_related("panels", "items")
        for block in blocks:
            assert block.holder_id == block.subject_id and block.perspective == "performance"
            assert {panel.code for panel in block.panels.all()} == set(PANEL_BIAS)
            assert [item.role.code for item in block.items.all()] == STATE_ROLES
        vignette_ratings = Rating.objects.filter(
            response__wave=wave,
            response__status=Response.Status.SUBMITTED,
            item__block__subject__kind="vignette",
            value__isnull=False,
        )
        answered = set(vignette_ratings.values_list("response__panel__code", flat=True))
        assert answered == set(PANEL_BIAS)
        submitted = Response.objects.filter(wave=wave, status=Response.Status.SUBMITTED)
        assert set(vignette_ratings.values_list("response", flat=True).distinct()) == set(
            submitted.values_list("pk", flat=True)
        )
        orders = vignette_orders(wave_id=wave.pk)
        assert set(orders) == set(STATE_ROLES)
        assert orders["regional_leader"] == ("VIGA", "VIGB", "VIGC")
        assert orders["protectee"] == ("VIGC", "VIGB", "VIGA")
        means = dict(
            vignette_ratings.values_list("response__panel__code").annotate(mean=Avg("value"))
        )
        # Moscow shifts its ratings up by 0.6, Yerevan down by 0.8: the same cases differ.
        assert means["MOW"] - means["YER"] > 0.8
