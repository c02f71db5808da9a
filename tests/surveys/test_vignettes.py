"""Vignettes: hypothetical actors every panel rates, their blocks, the order assumed for them
per role (model, service, admin, selectors), their texts in the translators' files and on
the expert's page."""

import html

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse

from surveys import services
from surveys.demo_texts import VIGNETTE_TEXTS
from surveys.models import Actor, AuditEntry, Perspective, VignetteOrder, VignetteRank, Wave
from surveys.texts import exchange
from surveys.vignette_selectors import vignette_orders, vignette_subject_codes
from surveys.vignettes import vignette_order_set
from tests.conftest import login_with_second_factor
from tests.factories import ActorFactory, instrument_texts_fill, survey_open

pytestmark = pytest.mark.django_db

VIGNETTE_ROLES = ["protectee", "independent"]


def vignette_create(code: str) -> Actor:
    texts = VIGNETTE_TEXTS[code]
    return ActorFactory(
        code=code,
        kind=Actor.Kind.VIGNETTE,
        order=900,
        name_en=texts["name"]["en"],
        name_ru=texts["name"]["ru"],
        description_en=texts["description"]["en"],
        description_ru=texts["description"]["ru"],
    )


@pytest.fixture
def vignettes(reference_data) -> dict[str, Actor]:
    return {code: vignette_create(code) for code in ("VIGA", "VIGB", "VIGC")}


@pytest.fixture
def wave(draft_wave, vignettes, roles, panels) -> Wave:
    """The test wave and a vignette block per vignette, rated by both panels on two roles."""
    for vignette in vignettes.values():
        services.block_create(
            wave=draft_wave,
            holder=vignette,
            subject=vignette,
            perspective=Perspective.PERFORMANCE,
            roles=[roles[code] for code in VIGNETTE_ROLES],
            panels=panels.values(),
        )
    return draft_wave


def ranking(order: VignetteOrder) -> list[str]:
    return [rank.vignette.code for rank in order.ranks.select_related("vignette")]


# The model -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("holder", "subject", "perspective"),
    [
        ("RUS", "VIGA", Perspective.EXPECTATION),
        ("VIGA", "VIGA", Perspective.CONCEPTION),
        ("RUS", "VIGA", Perspective.PERFORMANCE),
        ("VIGA", "ARM", Perspective.EXPECTATION),
    ],
)
def test_a_vignette_block_is_the_vignettes_own_performance(
    draft_wave, vignettes, actors, roles, panels, holder, subject, perspective
):
    actors = {**actors, **vignettes}
    with pytest.raises(ValidationError) as error:
        services.block_create(
            wave=draft_wave,
            holder=actors[holder],
            subject=actors[subject],
            perspective=perspective,
            roles=[roles["protectee"]],
            panels=[panels["MOW"]],
        )
    assert "vignette is both holder and subject" in str(error.value)
    assert not draft_wave.blocks.filter(subject__kind=Actor.Kind.VIGNETTE).exists()


def test_the_actor_kind_of_a_vignette_is_stored_as_vignette(vignettes):
    assert Actor.Kind.VIGNETTE == "vignette"
    assert set(Actor.objects.filter(kind="vignette").values_list("code", flat=True)) == {
        "VIGA",
        "VIGB",
        "VIGC",
    }


def test_the_database_ranks_a_vignette_once_per_order_with_distinct_ranks_from_one(
    wave, vignettes, roles
):
    order = VignetteOrder.objects.create(wave=wave, role=roles["protectee"])
    VignetteRank.objects.create(order=order, vignette=vignettes["VIGA"], rank=1)
    refused = [
        {"vignette": vignettes["VIGA"], "rank": 2},  # the same vignette again
        {"vignette": vignettes["VIGB"], "rank": 1},  # the same rank again
        {"vignette": vignettes["VIGB"], "rank": 0},  # ranks start at 1
    ]
    for fields in refused:
        with pytest.raises(IntegrityError), transaction.atomic():
            VignetteRank.objects.create(order=order, **fields)
    with pytest.raises(IntegrityError), transaction.atomic():
        VignetteOrder.objects.create(wave=wave, role=roles["protectee"])
    assert ranking(order) == ["VIGA"]


# The service ---------------------------------------------------------------------------------


def test_an_order_ranks_every_vignette_of_the_role_lowest_first_and_is_audited(
    wave, vignettes, roles
):
    v = vignettes
    order = vignette_order_set(
        wave=wave, role=roles["protectee"], vignettes=[v["VIGC"], v["VIGB"], v["VIGA"]]
    )
    assert ranking(order) == ["VIGC", "VIGB", "VIGA"]
    assert list(order.ranks.values_list("rank", flat=True)) == [1, 2, 3]
    again = vignette_order_set(
        wave=wave, role=roles["protectee"], vignettes=[v["VIGA"], v["VIGB"], v["VIGC"]]
    )
    assert again.pk == order.pk and ranking(again) == ["VIGA", "VIGB", "VIGC"]
    entry = AuditEntry.objects.filter(action="vignette_order.set").first()
    assert entry.detail == {
        "wave": wave.slug,
        "role": "protectee",
        "order": ["VIGA", "VIGB", "VIGC"],
    }


@pytest.mark.parametrize(
    ("codes", "message"),
    [
        (["VIGA", "VIGB"], "Not ranked: VIGC."),
        (["VIGA", "VIGB", "VIGB", "VIGC"], "VIGB is ranked 2 times"),
        (
            ["VIGA", "VIGB", "VIGC", "VIGD"],
            "Not vignettes the wave asks about role “protectee”: VIGD.",
        ),
        (["VIGA", "VIGB", "VIGC", "ARM"], ": ARM."),
    ],
)
def test_a_partial_or_wrong_order_is_refused_and_changes_nothing(
    wave, vignettes, actors, roles, codes, message
):
    everyone = {**actors, **vignettes, "VIGD": ActorFactory(code="VIGD", kind="vignette")}
    v = vignettes
    vignette_order_set(
        wave=wave, role=roles["protectee"], vignettes=[v["VIGA"], v["VIGB"], v["VIGC"]]
    )
    with pytest.raises(ValidationError) as error:
        vignette_order_set(
            wave=wave, role=roles["protectee"], vignettes=[everyone[code] for code in codes]
        )
    assert any(message in text for text in error.value.messages), error.value.messages
    assert ranking(VignetteOrder.objects.get()) == ["VIGA", "VIGB", "VIGC"]
    assert AuditEntry.objects.filter(action="vignette_order.set").count() == 1


def test_no_order_for_a_role_the_vignettes_are_not_rated_on(wave, vignettes, roles):
    with pytest.raises(ValidationError, match="for no vignette"):
        vignette_order_set(wave=wave, role=roles["bridge"], vignettes=list(vignettes.values()))
    assert not VignetteOrder.objects.exists()


def test_the_order_is_frozen_when_the_wave_opens_and_copied_to_the_next_wave(
    wave, vignettes, roles
):
    v = vignettes
    vignette_order_set(
        wave=wave, role=roles["independent"], vignettes=[v["VIGA"], v["VIGC"], v["VIGB"]]
    )
    instrument_texts_fill(wave)
    services.wave_open(wave=wave)
    with pytest.raises(services.InstrumentLockedError):
        vignette_order_set(wave=wave, role=roles["independent"], vignettes=list(v.values()))
    copy = services.wave_copy_instrument(source=wave, slug="next", title="Next round")
    assert ranking(copy.vignette_orders.get(role=roles["independent"])) == [
        "VIGA",
        "VIGC",
        "VIGB",
    ]


# The selectors -------------------------------------------------------------------------------


def test_the_selectors_give_the_vignette_subjects_and_the_complete_orders(
    wave, vignettes, roles, panels
):
    v = vignettes
    for role in VIGNETTE_ROLES:
        vignette_order_set(wave=wave, role=roles[role], vignettes=[v["VIGA"], v["VIGB"], v["VIGC"]])
    assert vignette_subject_codes(wave_id=wave.pk) == ["VIGA", "VIGB", "VIGC"]
    assert vignette_orders(wave_id=wave.pk) == {
        "protectee": ("VIGA", "VIGB", "VIGC"),
        "independent": ("VIGA", "VIGB", "VIGC"),
    }
    # A vignette added on one role afterwards: that role's order no longer ranks them all.
    extra = ActorFactory(code="VIGD", kind=Actor.Kind.VIGNETTE, order=901)
    services.block_create(
        wave=wave,
        holder=extra,
        subject=extra,
        perspective=Perspective.PERFORMANCE,
        roles=[roles["protectee"]],
        panels=panels.values(),
    )
    assert vignette_subject_codes(wave_id=wave.pk) == ["VIGA", "VIGB", "VIGC", "VIGD"]
    assert vignette_orders(wave_id=wave.pk) == {"independent": ("VIGA", "VIGB", "VIGC")}


# The admin -----------------------------------------------------------------------------------


def order_post(wave, role, ranks: list[tuple[int, Actor]]) -> dict[str, str]:
    data = {
        "wave": str(wave.pk),
        "role": str(role.pk),
        "ranks-TOTAL_FORMS": str(len(ranks)),
        "ranks-INITIAL_FORMS": "0",
        "ranks-MIN_NUM_FORMS": "0",
        "ranks-MAX_NUM_FORMS": "1000",
    }
    for index, (rank, vignette) in enumerate(ranks):
        data[f"ranks-{index}-rank"] = str(rank)
        data[f"ranks-{index}-vignette"] = str(vignette.pk)
    return data


@pytest.fixture
def admin_client(client):
    login_with_second_factor(
        client, User.objects.create_superuser("root", "root@example.org", "pw")
    )
    return client


def test_the_admin_refuses_a_partial_order_with_clear_errors_and_writes_nothing(
    admin_client, wave, vignettes, roles
):
    v = vignettes
    url = reverse("admin:surveys_vignetteorder_add")
    assert admin_client.get(url).status_code == 200
    cases = [
        ([(1, v["VIGA"]), (2, v["VIGB"])], "Not ranked: VIGC."),
        ([(1, v["VIGA"]), (1, v["VIGB"]), (2, v["VIGC"])], "Two vignettes share a rank"),
        ([(1, v["VIGA"]), (2, v["VIGA"]), (3, v["VIGC"])], "VIGA is ranked 2 times"),
    ]
    for ranks, message in cases:
        page = admin_client.post(url, order_post(wave, roles["protectee"], ranks))
        assert page.status_code == 200, "the form again, with its errors"
        assert message in html.unescape(page.content.decode())
    assert not VignetteOrder.objects.exists() and not VignetteRank.objects.exists()


def test_the_admin_writes_a_complete_order_through_the_service(
    admin_client, wave, vignettes, roles
):
    v = vignettes
    ranks = [(2, v["VIGB"]), (1, v["VIGC"]), (3, v["VIGA"])]
    page = admin_client.post(
        reverse("admin:surveys_vignetteorder_add"), order_post(wave, roles["protectee"], ranks)
    )
    assert page.status_code == 302, page.content.decode()[:2000]
    order = VignetteOrder.objects.get(wave=wave, role=roles["protectee"])
    assert ranking(order) == ["VIGC", "VIGB", "VIGA"]
    assert AuditEntry.objects.filter(action="vignette_order.set").exists()
    listing = admin_client.get(reverse("admin:surveys_vignetteorder_changelist")).content
    assert "VIGC &lt; VIGB &lt; VIGA" in listing.decode()
    change = admin_client.get(reverse("admin:surveys_vignetteorder_change", args=[order.pk]))
    assert change.status_code == 200


# Texts: the translators' files and the expert's page -------------------------------------------


@pytest.mark.parametrize("file_format", ["xliff", "csv"])
def test_the_translators_files_carry_the_vignettes_descriptions(wave, file_format):
    wave.languages = "en,ru,kk"
    wave.save(update_fields=["languages"])
    instrument_texts_fill(wave)
    document = exchange.document_build(wave=wave, language="kk")
    data = exchange.document_render(document, file_format).decode("utf-8-sig")
    for code in ("VIGA", "VIGB", "VIGC"):
        assert f"actor.{code}.description" in data
        assert VIGNETTE_TEXTS[code]["description"]["kk"] in data
    assert VIGNETTE_TEXTS["VIGA"]["description"]["en"] in data, "the source beside it"
    if file_format == "xliff":
        assert "vignette VIGA: description" in data
    # A state has a name only: no description to translate.
    assert "actor.ARM.description" not in data


def test_a_vignette_without_a_description_keeps_the_wave_from_opening(wave, vignettes):
    instrument_texts_fill(wave)
    vignettes["VIGB"].texts.filter(field="description", language="ru").delete()
    with pytest.raises(services.WaveStateError) as error:
        services.wave_open(wave=wave)
    assert "actor.VIGB.description" in str(error.value)


@pytest.mark.parametrize(
    ("language", "label", "prompt"),
    [
        ("ru", "Гипотетический случай", "Судя только по описанию выше"),
        ("hy", "Հիպոթետիկ դեպք", "միայն վերևի նկարագրությունից ելնելով"),
    ],
)
def test_the_block_page_shows_the_hypothetical_case_above_the_roles(
    client, vignettes, language, label, prompt
):
    survey = survey_open(
        language=language,
        blocks=[("VIGA", "VIGA", Perspective.PERFORMANCE, VIGNETTE_ROLES)],
    )
    client.post(survey.url, {"consent": "on"})
    page = client.get(reverse("surveys:block", args=[survey.token, survey.blocks[0].order]))
    body = page.content.decode()
    description = VIGNETTE_TEXTS["VIGA"]["description"][language]
    name = VIGNETTE_TEXTS["VIGA"]["name"][language]
    assert html.escape(description) in body
    assert body.index(html.escape(description)) < body.index('class="role')
    assert label in body, "the page marks the case as hypothetical, in the page's language"
    assert '<section class="vignette" aria-labelledby="vignette-label">' in body
    assert name in body
    assert prompt in body, "without a prompt of its own, the standard vignette wording"


def test_the_admin_reorders_an_order_by_swapping_ranks(admin_client, wave, vignettes, roles):
    v = vignettes
    order = vignette_order_set(
        wave=wave, role=roles["protectee"], vignettes=[v["VIGA"], v["VIGB"], v["VIGC"]]
    )
    ranks = {rank.vignette.code: rank for rank in order.ranks.select_related("vignette")}
    swapped = {"VIGA": 2, "VIGB": 1, "VIGC": 3}
    data = {
        "ranks-TOTAL_FORMS": "3",
        "ranks-INITIAL_FORMS": "3",
        "ranks-MIN_NUM_FORMS": "0",
        "ranks-MAX_NUM_FORMS": "1000",
    }
    for index, (code, rank) in enumerate(swapped.items()):
        data[f"ranks-{index}-id"] = str(ranks[code].pk)
        data[f"ranks-{index}-order"] = str(order.pk)
        data[f"ranks-{index}-rank"] = str(rank)
        data[f"ranks-{index}-vignette"] = str(v[code].pk)
    url = reverse("admin:surveys_vignetteorder_change", args=[order.pk])
    page = admin_client.post(url, data)
    assert page.status_code == 302, html.unescape(page.content.decode())[-3000:]
    assert ranking(VignetteOrder.objects.get(pk=order.pk)) == ["VIGB", "VIGA", "VIGC"]
