"""Delphi rounds: a study's rounds, the deferred cut, the feedback page, keep and reasons."""

from unittest import mock

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from surveys import delphi, delphi_selectors
from surveys.models import (
    AuditEntry,
    DelphiStudy,
    Invitation,
    Rating,
    Response,
    RevisionJustification,
    Wave,
)
from surveys.questionnaire import Answer, response_save_block, response_start, response_submit
from surveys.services import invitation_create, wave_close
from tests.factories import ExpertFactory, survey_open

pytestmark = pytest.mark.django_db

BLOCKS = [("RUS", "ARM", "expectation", ["protectee", "faithful_ally", "independent"])]


@pytest.fixture(autouse=True)
def schedule():
    with mock.patch("surveys.questionnaire.aggregation_schedule") as patched:
        yield patched


def answer_round(invitation: Invitation, values: list[int]) -> Response:
    response = response_start(invitation=invitation)
    block = invitation.wave.blocks.get()
    items = list(block.items.order_by("order"))
    response_save_block(
        response=response,
        block=block,
        answers=[Answer(item_id=item.pk, value=v) for item, v in zip(items, values, strict=True)],
    )
    return response_submit(response=response)


@pytest.fixture
def round_one():
    """Round 1 with three experts of one panel and their links: answers 5/5/8, 2/3/4, 7/7/7."""
    survey = survey_open(language="en", blocks=BLOCKS, other_panel_block=False)
    study = delphi.delphi_study_start(
        wave=survey.wave, title="Roles of Russia", justification="required"
    )
    invitations, tokens = [survey.invitation], [survey.token]
    for _ in range(2):
        invitation, token = invitation_create(
            expert=ExpertFactory(panel=survey.panel, language="en"), wave=survey.wave
        )
        invitations.append(invitation)
        tokens.append(token)
    for invitation, values in zip(invitations, ([5, 5, 8], [2, 3, 4], [7, 7, 7]), strict=True):
        answer_round(invitation, values)
    return survey, study, invitations, tokens


def test_closing_a_round_before_the_last_keeps_its_responses_linked(round_one):
    survey, _study, *_ = round_one
    wave_close(wave=survey.wave)
    assert Response.objects.filter(wave=survey.wave, invitation__isnull=False).count() == 3
    assert AuditEntry.objects.filter(action="wave.unlink_deferred").exists()


def test_round_two_reuses_the_link_and_stores_round_one_figures(round_one):
    survey, study, _invitations, _tokens = round_one
    wave_close(wave=survey.wave)
    round_two, new_tokens = delphi.delphi_round_open(study=study)
    assert new_tokens == {}
    assert round_two.number == 2 and round_two.wave.status == Wave.Status.OPEN
    assert round_two.wave.slug == f"{survey.wave.slug}-r2"
    # The same link opens round 2 now.
    resolved = Invitation.objects.get(expert=survey.expert, wave=round_two.wave)
    assert resolved.token_hash == survey.invitation.token_hash
    results = study.rounds.get(number=1).results
    protectee = results["items"]["expectation.rus.arm.protectee"]["scopes"]
    # Values 5, 2, 7: median 5, quartiles 3.5 and 6 (linear interpolation).
    assert protectee["all"]["median"] == 5
    assert (protectee["all"]["q1"], protectee["all"]["q3"]) == (3.5, 6)
    assert protectee[survey.panel.code] == protectee["all"]
    assert results["respondents"] == 3
    assert results["concordance"]["1"]["raters"] == 3


def test_round_two_cannot_open_before_round_one_closes(round_one):
    _survey, study, *_ = round_one
    with pytest.raises(ValidationError):
        delphi.delphi_round_open(study=study)


def test_round_two_with_new_links_returns_fresh_tokens(round_one):
    survey, study, *_ = round_one
    wave_close(wave=survey.wave)
    _round_two, tokens = delphi.delphi_round_open(study=study, new_links=True)
    assert len(tokens) == 3
    old = Invitation.objects.get(pk=survey.invitation.pk)
    assert old.token_hash == survey.invitation.token_hash  # the old link stays with round 1


def test_agreed_items_can_be_left_out_of_the_next_round(round_one):
    survey, study, *_ = round_one
    DelphiStudy.objects.filter(pk=study.pk).update(
        drop_agreed_items=True, consensus_iqr_max=2.0, consensus_share_min=None
    )
    study.refresh_from_db()
    wave_close(wave=survey.wave)
    round_two, _ = delphi.delphi_round_open(study=study)
    # IQRs of round 1: protectee (5, 2, 7) 6 − 3.5 = 2.5; faithful_ally (5, 3, 7) 6 − 4 = 2;
    # independent (8, 4, 7) 7.5 − 5.5 = 2. Only protectee is asked again.
    codes = list(round_two.wave.blocks.get().items.values_list("code", flat=True))
    assert codes == ["expectation.rus.arm.protectee"]


def test_block_page_shows_feedback_keeps_and_asks_for_reasons(client, round_one):
    survey, study, _invitations, _tokens = round_one
    wave_close(wave=survey.wave)
    round_two, _ = delphi.delphi_round_open(study=study)
    client.post(survey.url, {"consent": "on"})
    block = round_two.wave.blocks.get()
    items = list(block.items.order_by("order"))
    url = reverse("surveys:block", args=[survey.token, block.order])
    page = client.get(url).content.decode()
    assert "Your previous answer: 5." in page
    assert "median 5, middle half of the answers (interquartile range) from 3.5 to 6" in page
    assert 'name="keep"' in page and "<title" in page
    response = Response.objects.get(wave=round_two.wave)
    # Keep item 1 with one tap: its round-1 value 5 is stored, the page comes back.
    kept = client.post(url, {f"v-{items[0].pk}": "", "keep": str(items[0].pk)})
    assert kept.status_code == 302 and kept["Location"].endswith(f"#row-{items[0].pk}")
    assert Rating.objects.get(response=response, item=items[0]).value == 5
    # Revise item 3 from 8 to 10, outside [5.5, 7.5], without a reason: refused (required).
    data = {f"v-{items[0].pk}": "5", f"v-{items[1].pk}": "5", f"v-{items[2].pk}": "10"}
    refused = client.post(url, {**data, "action": "review"})
    assert refused.status_code == 400
    assert "outside the range shown" in refused.content.decode()
    saved = client.post(url, {**data, f"j-{items[2].pk}": "New treaty.", "action": "review"})
    assert saved.status_code == 302
    assert RevisionJustification.objects.get(response=response).text == "New treaty."
    client.post(reverse("surveys:submit", args=[survey.token]))
    assert Response.objects.get(pk=response.pk).status == Response.Status.SUBMITTED
    rows = delphi_selectors.delphi_justifications(study=study)
    assert [(r.round_number, r.value, r.text) for r in rows] == [(2, 10, "New treaty.")]


def test_closing_the_last_round_ends_the_study_and_cuts_every_round(round_one):
    survey, study, _invitations, _ = round_one
    wave_close(wave=survey.wave)
    round_two, _ = delphi.delphi_round_open(study=study)
    for invitation, values in zip(
        Invitation.objects.filter(wave=round_two.wave).order_by("expert_id"),
        ([5, 5, 7], [4, 4, 5], [7, 7, 7]),
        strict=True,
    ):
        answer_round(invitation, values)
    wave_close(wave=round_two.wave)
    study.refresh_from_db()
    assert study.ended_at is not None
    assert not Response.objects.filter(invitation__isnull=False).exists()
    results = study.rounds.get(number=2).results
    stability = results["items"]["expectation.rus.arm.independent"]["stability"]["all"]
    # Round 1 → 2 for "independent": 8 → 7, 4 → 5, 7 → 7: two of three changed.
    assert stability["pairs"] == 3 and stability["changed"] == 2
    assert stability["share_changed"] == pytest.approx(2 / 3)
    with pytest.raises(ValidationError):
        delphi.delphi_round_open(study=study)


def test_a_wave_outside_a_study_is_cut_at_close_as_before(client):
    survey = survey_open(language="en", blocks=BLOCKS, other_panel_block=False)
    answer_round(survey.invitation, [1, 2, 3])
    wave_close(wave=survey.wave)
    assert not Response.objects.filter(invitation__isnull=False).exists()


def test_admin_starts_a_study_and_opens_the_next_round(client, round_one):
    from django.contrib.auth.models import User

    from tests.conftest import login_with_second_factor

    survey, study, *_ = round_one
    login_with_second_factor(client, User.objects.create_superuser("boss", "b@example.org", "pw"))
    other = survey_open(language="en", blocks=BLOCKS, other_panel_block=False)
    client.post(
        reverse("admin:surveys_wave_changelist"),
        {"action": "run_as_delphi", "_selected_action": [other.wave.pk]},
    )
    assert DelphiStudy.objects.filter(rounds__wave=other.wave).exists()
    wave_close(wave=survey.wave)
    client.post(
        reverse("admin:surveys_delphistudy_changelist"),
        {"action": "open_next_round", "_selected_action": [study.pk]},
    )
    assert study.rounds.count() == 2
    assert (
        client.get(reverse("admin:surveys_delphistudy_change", args=[study.pk])).status_code == 200
    )


def test_command_opens_the_next_round_and_prints_no_token(round_one):
    from io import StringIO

    from django.core.management import call_command

    survey, study, _invitations, tokens = round_one
    wave_close(wave=survey.wave)
    out = StringIO()
    call_command("delphi_round", survey.wave.slug, "--new-links", stdout=out)
    assert "Round 2 is open" in out.getvalue()
    assert not any(token in out.getvalue() for token in tokens)
    assert study.rounds.count() == 2


def test_submit_refuses_an_autosaved_answer_outside_the_range_without_a_reason(client, round_one):
    survey, study, *_ = round_one
    wave_close(wave=survey.wave)
    round_two, _ = delphi.delphi_round_open(study=study)
    client.post(survey.url, {"consent": "on"})
    block = round_two.wave.blocks.get()
    items = list(block.items.order_by("order"))
    autosave = reverse("surveys:autosave", args=[survey.token, block.order])
    data = {f"v-{items[2].pk}": "10", "change_id": "a1b2c3d4e5f6", "change_sequence": "5"}
    assert client.post(autosave, data).status_code == 200  # stored: the page autosaves freely
    submit = reverse("surveys:submit", args=[survey.token])
    refused = client.post(submit)
    assert refused.status_code == 400
    assert "still need a short reason" in refused.content.decode()
    data = {
        **data,
        f"j-{items[2].pk}": "Because.",
        "change_id": "b1b2c3d4e5f6",
        "change_sequence": "6",
    }
    client.post(autosave, data)
    assert client.post(submit).status_code == 302
    assert Response.objects.get(wave=round_two.wave).status == Response.Status.SUBMITTED
