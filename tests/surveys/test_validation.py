"""Every malformed, out-of-range or foreign post: a 400 with a clear message, nothing stored."""

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from surveys import questionnaire
from surveys.models import BlockComment, Rating, Response
from surveys.questionnaire import COMMENT_MAX_LENGTH, Answer
from tests.factories import survey_open

pytestmark = pytest.mark.django_db


@pytest.fixture
def survey(client):
    survey = survey_open(language="en")
    client.post(survey.url, {"consent": "on"})
    return survey


def block_url(survey, index: int = 0) -> str:
    return reverse("surveys:block", args=[survey.token, survey.blocks[index].order])


def autosave_url(survey, index: int = 0) -> str:
    return reverse("surveys:autosave", args=[survey.token, survey.blocks[index].order])


def valid_rows(survey, index: int = 0) -> dict[str, str]:
    """A correct answer for every row of the block, to show that none of it is kept."""
    return {f"v-{item.pk}": "5" for item in survey.items(index)}


def assert_nothing_stored(survey):
    response = Response.objects.get(invitation=survey.invitation)
    assert not Rating.objects.exists()
    assert not BlockComment.objects.exists()
    assert response.last_block == 0


def assert_refused(page, *fragments: str):
    assert page.status_code == 400
    html = page.content.decode()
    assert "Nothing from this page was stored" in html
    for fragment in fragments:
        assert fragment in html, fragment


@pytest.mark.parametrize("value", ["11", "-1", "100", "9999"])
def test_value_outside_the_scale(client, survey, value):
    first = survey.items(0)[0]
    page = client.post(block_url(survey), {**valid_rows(survey), f"v-{first.pk}": value})
    assert_refused(page, f"“Protectee”: {value} is outside the scale 0–10.")
    assert_nothing_stored(survey)


@pytest.mark.parametrize("value", ["five", "5.5", "1e3", "CJ", "5 ", "5\n", "0x5", "٥"])
def test_value_that_is_not_a_whole_number(client, survey, value):
    first = survey.items(0)[0]
    page = client.post(block_url(survey), {**valid_rows(survey), f"v-{first.pk}": value})
    assert_refused(page, f"“v-{first.pk}”:", "is not a whole number or “cj”")
    assert_nothing_stored(survey)


@pytest.mark.parametrize(("confidence", "message"), [("0", "outside 1–5"), ("6", "outside 1–5")])
def test_confidence_outside_one_to_five(client, survey, confidence, message):
    first = survey.items(0)[0]
    page = client.post(block_url(survey), {**valid_rows(survey), f"c-{first.pk}": confidence})
    assert_refused(page, f"“Protectee”: confidence {confidence} is {message}.")
    assert_nothing_stored(survey)


def test_confidence_that_is_not_a_whole_number(client, survey):
    first = survey.items(0)[0]
    page = client.post(block_url(survey), {**valid_rows(survey), f"c-{first.pk}": "high"})
    assert_refused(page, f"“c-{first.pk}”: “high” is not a whole number.")
    assert_nothing_stored(survey)


def test_item_of_another_wave(client, survey):
    other = survey_open(other_panel_block=False)
    foreign = other.items(0)[0]
    page = client.post(block_url(survey), {**valid_rows(survey), f"v-{foreign.pk}": "5"})
    assert_refused(page, f"These questions are not on this page: {foreign.pk}.")
    assert_nothing_stored(survey)


def test_item_of_another_block_of_the_same_questionnaire(client, survey):
    later = survey.items(1)[0]
    page = client.post(block_url(survey, 0), {**valid_rows(survey), f"v-{later.pk}": "5"})
    assert_refused(page, f"These questions are not on this page: {later.pk}.")
    assert_nothing_stored(survey)


def test_item_of_a_block_not_assigned_to_the_experts_panel(client, survey):
    other_block = survey.wave.blocks.exclude(panels=survey.panel).get()
    foreign = other_block.items.first()
    page = client.post(block_url(survey), {**valid_rows(survey), f"c-{foreign.pk}": "3"})
    assert_refused(page, f"These questions are not on this page: {foreign.pk}.")
    assert_nothing_stored(survey)


def test_page_of_a_block_not_assigned_to_the_experts_panel(client, survey):
    other_block = survey.wave.blocks.exclude(panels=survey.panel).get()
    data = {f"v-{item.pk}": "5" for item in other_block.items.all()}
    page = client.post(reverse("surveys:block", args=[survey.token, other_block.order]), data)
    assert_refused(page, "This page is not part of your questionnaire.")
    missing = client.post(reverse("surveys:block", args=[survey.token, 99]), {})
    assert_refused(missing, "This page is not part of your questionnaire.")
    assert_nothing_stored(survey)


def test_service_refuses_a_block_of_another_panel_or_wave(survey):
    response = Response.objects.get(invitation=survey.invitation)
    other_block = survey.wave.blocks.exclude(panels=survey.panel).get()
    other_wave_block = survey_open(other_panel_block=False).blocks[0]
    for block in (other_block, other_wave_block):
        with pytest.raises(ValidationError, match="not part of your questionnaire"):
            questionnaire.response_save_block(response=response, block=block, answers=[])
    assert_nothing_stored(survey)


def test_service_checks_what_the_form_cannot(survey):
    response = Response.objects.get(invitation=survey.invitation)
    first, second, _third = survey.items(0)
    answers = [
        Answer(item_id=first.pk, value=5, cannot_judge=True),
        Answer(item_id=second.pk, value=3),
        Answer(item_id=second.pk, value=4),
    ]
    with pytest.raises(ValidationError) as error:
        questionnaire.response_save_block(
            response=response, block=survey.blocks[0], answers=answers, comment="x" * 4001
        )
    assert error.value.messages == [
        "“Protectee”: give a value or choose “cannot judge”, not both.",
        "“Faithful ally” was answered twice.",
        "The comment is longer than 4000 characters.",
    ]
    assert_nothing_stored(survey)


def test_unknown_and_repeated_fields(client, survey):
    first = survey.items(0)[0]
    page = client.post(block_url(survey), {**valid_rows(survey), "is_admin": "1", "v-x": "5"})
    assert_refused(page, "“is_admin” is not a field of this form.", "“v-x” is not a field")
    repeated = client.post(block_url(survey), {f"v-{first.pk}": ["5", "6"]})
    assert_refused(repeated, f"“v-{first.pk}” was sent more than once.")
    assert_nothing_stored(survey)


def test_unknown_action(client, survey):
    page = client.post(block_url(survey), {**valid_rows(survey), "action": "delete"})
    assert_refused(page, "Select a valid choice.")
    assert_nothing_stored(survey)


def test_oversized_comment(client, survey):
    page = client.post(
        block_url(survey), {**valid_rows(survey), "comment": "x" * (COMMENT_MAX_LENGTH + 1)}
    )
    assert_refused(page, "at most 4000 characters")
    assert_nothing_stored(survey)


def test_oversized_post_gets_a_clean_400_not_a_500(client, survey):
    page = client.post(block_url(survey), {**valid_rows(survey), "comment": "x" * 300_000})
    assert_refused(page, "the form sent was too large")
    reply = client.post(autosave_url(survey), {**valid_rows(survey), "comment": "x" * 300_000})
    assert reply.status_code == 400
    assert reply.json() == {
        "ok": False,
        "errors": ["Your answers could not be read: the form sent was too large."],
    }
    assert_nothing_stored(survey)


def test_too_many_fields_get_a_clean_400(client, survey):
    fields = {f"v-{number}": "5" for number in range(1, 2101)}
    page = client.post(block_url(survey), fields)
    assert_refused(page, "the form sent was too large")
    assert_nothing_stored(survey)


def test_autosave_errors_are_json(client, survey):
    first = survey.items(0)[0]
    reply = client.post(autosave_url(survey), {f"v-{first.pk}": "12"})
    assert reply.status_code == 400
    assert reply.json() == {"ok": False, "errors": ["“Protectee”: 12 is outside the scale 0–10."]}
    assert_nothing_stored(survey)


def test_posting_before_consent_stores_nothing(client):
    survey = survey_open(language="en")
    reply = client.post(autosave_url(survey), valid_rows(survey))
    assert reply.status_code == 409
    assert not Response.objects.exists()
    assert not Rating.objects.exists()


def test_csrf_is_still_enforced(survey):
    strict = Client(enforce_csrf_checks=True)
    page = strict.post(block_url(survey), valid_rows(survey))
    assert page.status_code == 403
    assert_nothing_stored(survey)


@pytest.mark.parametrize(
    "headers",
    [
        {"HTTP_ORIGIN": "https://elsewhere.example"},
        {"HTTP_ORIGIN": "null"},
        {"HTTP_SEC_FETCH_SITE": "cross-site"},
        {"HTTP_SEC_FETCH_SITE": "same-site", "HTTP_ORIGIN": "http://testserver"},
    ],
)
def test_the_autosave_refuses_posts_from_other_sites(survey, headers):
    strict = Client(enforce_csrf_checks=True)
    reply = strict.post(autosave_url(survey), valid_rows(survey), **headers)
    assert reply.status_code == 403
    assert reply.json()["ok"] is False
    assert_nothing_stored(survey)


def test_the_autosave_survives_a_stale_csrf_token(survey):
    """A change replayed after the CSRF cookie changed is stored: the origin is checked."""
    strict = Client(enforce_csrf_checks=True)
    data = {**valid_rows(survey), "csrfmiddlewaretoken": "stale" * 8}
    reply = strict.post(
        autosave_url(survey),
        data,
        HTTP_ORIGIN="http://testserver",
        HTTP_SEC_FETCH_SITE="same-origin",
    )
    assert reply.status_code == 200, reply.content
    assert Rating.objects.filter(response__invitation=survey.invitation).count() == 3


def test_a_valid_post_after_refusals_is_stored(client, survey):
    client.post(block_url(survey), {**valid_rows(survey), f"v-{survey.items(0)[0].pk}": "11"})
    page = client.post(block_url(survey), valid_rows(survey))
    assert page.status_code == 302
    assert Rating.objects.count() == 3
