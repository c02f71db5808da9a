"""The expert questionnaire: links, consent, block pages, drafts, resume, submit, lock."""

import base64
import gzip
import hashlib
import logging
import re
import threading
from datetime import timedelta
from unittest import mock

import pytest
from django.core.cache import cache
from django.db import connection, models
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from surveys import questionnaire, questionnaire_cache, selectors
from surveys.models import (
    AppliedBlockChange,
    BlockComment,
    InstrumentText,
    Invitation,
    Rating,
    Response,
    Wave,
)
from surveys.services import invitation_create, invitation_reissue_token, wave_close
from tests.factories import ExpertFactory, InvitationFactory, WaveFactory, survey_open

pytestmark = pytest.mark.django_db


@pytest.fixture
def survey():
    return survey_open(language="en")


@pytest.fixture
def schedule():
    with mock.patch("surveys.questionnaire.aggregation_schedule") as patched:
        yield patched


def consent(client, survey):
    return client.post(survey.url, {"consent": "on"})


def block_url(survey, index: int) -> str:
    return reverse("surveys:block", args=[survey.token, survey.blocks[index].order])


def answers(items, values, confidences=None, comment=""):
    """POST data for a block page: values are ints, "cj" or None (unanswered)."""
    data = {"comment": comment}
    for item, value in zip(items, values, strict=True):
        if value is not None:
            data[f"v-{item.pk}"] = str(value)
    for item, confidence in zip(items, confidences or [], strict=False):
        if confidence is not None:
            data[f"c-{item.pk}"] = str(confidence)
    return data


def stored(response: Response) -> dict[int, tuple]:
    return {
        rating.item_id: (rating.value, rating.cannot_judge, rating.confidence)
        for rating in Rating.objects.filter(response=response)
    }


def fill(client, survey, index, values, confidences=None, action="next", comment=""):
    data = answers(survey.items(index), values, confidences, comment)
    return client.post(block_url(survey, index), {**data, "action": action})


# Links -------------------------------------------------------------------------------------


def test_link_token_has_32_random_bytes_and_only_its_hash_is_stored(survey):
    raw = base64.urlsafe_b64decode(survey.token + "=" * (-len(survey.token) % 4))
    assert len(raw) >= 32
    invitation = Invitation.objects.get(pk=survey.invitation.pk)
    assert invitation.token_hash == hashlib.sha256(survey.token.encode()).hexdigest()
    stored_texts = [
        str(value)
        for value in Invitation.objects.filter(pk=invitation.pk).values().first().values()
    ]
    assert not any(survey.token in text for text in stored_texts)


def _invalid_links() -> dict[str, str]:
    """One link per reason a link must not work, all to be answered alike."""
    now = timezone.now()
    links = {"unknown": "A" * 43, "malformed": "not-a-token", "long": "x" * 500}

    closed = survey_open(other_panel_block=False)
    wave_close(wave=closed.wave)
    links["closed"] = closed.token

    expired = survey_open(other_panel_block=False)
    Wave.objects.filter(pk=expired.wave.pk).update(
        opens_at=now - timedelta(days=30), closes_at=now - timedelta(minutes=1)
    )
    links["expired"] = expired.token

    early = survey_open(other_panel_block=False)
    Wave.objects.filter(pk=early.wave.pk).update(opens_at=now + timedelta(days=1))
    links["not yet open"] = early.token

    draft = InvitationFactory(wave=WaveFactory(status=Wave.Status.DRAFT))
    links["draft wave"] = draft.token

    inactive = survey_open(other_panel_block=False)
    inactive.expert.is_active = False
    inactive.expert.save()
    links["inactive expert"] = inactive.token

    revoked = survey_open(other_panel_block=False)
    invitation_reissue_token(invitation=revoked.invitation)
    links["replaced"] = revoked.token
    return links


def test_every_unusable_link_gets_the_same_page_status_and_work(client, django_assert_num_queries):
    # Counters and cached fragments of earlier tests must not tell two pages apart here.
    cache.clear()
    pages = {}
    for reason, token in _invalid_links().items():
        with django_assert_num_queries(1):  # one hashed lookup, whatever the reason
            page = client.get(f"/s/{token}/")
        assert page.status_code == 404, reason
        assert "surveys/link_invalid.html" in [template.name for template in page.templates]
        # Expires is the time of the response (never cached): it may tick between two pages.
        headers = {name: value for name, value in page.headers.items() if name != "Expires"}
        pages[reason] = (page.content, tuple(sorted(headers.items())))
    first_reason, first = next(iter(pages.items()))
    differences = {
        reason: (
            sorted(set(page[1]) ^ set(first[1])),
            "body differs" if page[0] != first[0] else "",
        )
        for reason, page in pages.items()
        if page != first
    }
    assert not differences, (
        f"the pages must not tell the reasons apart ({first_reason} vs): {differences}"
    )


def test_unusable_link_refuses_every_page_and_post(client):
    closed = survey_open(other_panel_block=False)
    consent(client, closed)
    wave_close(wave=closed.wave)
    for url in (
        closed.url,
        block_url(closed, 0),
        reverse("surveys:review", args=[closed.token]),
        reverse("surveys:thanks", args=[closed.token]),
    ):
        assert client.get(url).status_code == 404
    data = answers(closed.items(0), [5, 5, 5])
    assert client.post(block_url(closed, 0), data).status_code == 404
    assert client.post(reverse("surveys:submit", args=[closed.token])).status_code == 404
    assert not Rating.objects.exists()


def test_link_stops_working_when_the_wave_closes(client, survey):
    assert client.get(survey.url).status_code == 200
    wave_close(wave=survey.wave)
    assert client.get(survey.url).status_code == 404


# Landing and consent -----------------------------------------------------------------------


def test_landing_states_purpose_who_sees_what_anonymity_and_asks_consent(client, survey):
    page = client.get(survey.url)
    assert page.status_code == 200
    html = page.content.decode()
    for text in ("What this survey is for", "Who sees what", "Your anonymity and safety"):
        assert text in html
    assert "We do not record your IP address" in html
    assert 'type="checkbox" name="consent"' in html
    assert '<label for="consent">' in html
    assert Invitation.objects.get(pk=survey.invitation.pk).opened_at is not None
    assert not Response.objects.exists(), "opening the link is not consent"


def test_without_consent_nothing_starts(client, survey):
    page = client.post(survey.url, {})
    assert page.status_code == 200
    assert "Please confirm that you agree" in page.content.decode()
    assert not Response.objects.exists()


def test_consent_starts_one_pseudonymous_response_at_block_one(client, survey):
    page = consent(client, survey)
    assert page.status_code == 302
    assert page.url == block_url(survey, 0)
    response = Response.objects.get()
    assert response.wave == survey.wave
    assert response.panel == survey.expert.panel
    assert response.invitation == survey.invitation
    assert re.fullmatch(r"R-[0-9A-Z]{8}", response.pseudonym)
    assert response.status == Response.Status.DRAFT
    assert response.consented_at is not None
    invitation = Invitation.objects.get(pk=survey.invitation.pk)
    assert invitation.status == Invitation.Status.STARTED
    assert invitation.opened_at is not None

    consent(client, survey)  # a second tab, a reload
    assert Response.objects.count() == 1


def test_response_carries_a_pseudonym_not_the_experts_identity(client, survey):
    consent(client, survey)
    response = Response.objects.get()
    identity = {survey.expert.name, survey.expert.email}
    stored_values = Response.objects.filter(pk=response.pk).values().first().values()
    assert not identity & {str(value) for value in stored_values}
    assert survey.expert.name not in response.pseudonym


# Block pages -------------------------------------------------------------------------------


def test_block_page_shows_prompt_with_actor_names_and_a_labelled_matrix(client, survey):
    consent(client, survey)
    page = client.get(block_url(survey, 0))
    assert page.status_code == 200
    html = page.content.decode()
    assert "How strongly does Russia expect that Armenia will play each of these roles?" in html
    assert "Page 1 of 3" in html
    items = survey.items(0)
    assert html.count('<fieldset class="role') == len(items)
    for name in ("Protectee", "Faithful ally", "Independent"):
        assert f'<legend class="role-name">{name}</legend>' in html
    assert html.count("<details") == len(items), "a definition on demand per role"
    for item in items:
        for value in [*range(11), "cj"]:
            assert f'name="v-{item.pk}" id="v-{item.pk}-{value}" value="{value}"' in html
        for value in ["none", *range(1, 6)]:
            assert f'id="c-{item.pk}-{value}"' in html
    input_ids = set(re.findall(r'<input type="radio"[^>]* id="([^"]+)"', html))
    label_targets = set(re.findall(r'<label for="([^"]+)"', html))
    assert input_ids and input_ids <= label_targets, "every choice has a label"
    assert "Cannot judge" in html
    assert "not at all" in html and "fully" in html
    assert 'name="comment"' in html


def test_block_page_of_another_panel_is_not_found(client, survey):
    consent(client, survey)
    other = survey.wave.blocks.exclude(panels=survey.panel).get()
    page = client.get(reverse("surveys:block", args=[survey.token, other.order]))
    assert page.status_code == 404
    assert "not part of your questionnaire" in page.content.decode()


def test_block_page_before_consent_goes_to_the_landing_page(client, survey):
    page = client.get(block_url(survey, 0))
    assert page.status_code == 302
    assert page.url == survey.url


def test_saving_a_block_stores_exactly_its_answers_and_moves_on(client, survey):
    consent(client, survey)
    items = survey.items(0)
    page = fill(client, survey, 0, [8, "cj", 3], [4, None, 2], comment="  Hard to say.  ")
    assert page.status_code == 302
    assert page.url == block_url(survey, 1)
    response = Response.objects.get()
    assert stored(response) == {
        items[0].pk: (8, False, 4),
        items[1].pk: (None, True, None),
        items[2].pk: (3, False, 2),
    }
    assert BlockComment.objects.get().text == "Hard to say."
    assert response.last_block == survey.blocks[0].order


def test_saving_again_replaces_the_page(client, survey):
    consent(client, survey)
    items = survey.items(0)
    fill(client, survey, 0, [8, 7, 3], [4, 4, 4], comment="First thought.")
    fill(client, survey, 0, [2, None, "cj"], [None, None, None])
    assert stored(Response.objects.get()) == {
        items[0].pk: (2, False, None),
        items[2].pk: (None, True, None),
    }
    assert not BlockComment.objects.exists()


def test_confidence_is_kept_only_with_a_value(client, survey):
    consent(client, survey)
    items = survey.items(0)
    fill(client, survey, 0, [None, "cj", 6], [5, 5, None])
    assert stored(Response.objects.get()) == {
        items[1].pk: (None, True, None),
        items[2].pk: (6, False, None),
    }


def test_back_save_and_review_buttons(client, survey):
    consent(client, survey)
    assert fill(client, survey, 1, [1, 2, 3], action="back").url == block_url(survey, 0)
    assert fill(client, survey, 1, [1, 2, 3], action="save").url == block_url(survey, 1) + (
        "?saved=1"
    )
    assert (
        "Your answers are saved" in client.get(block_url(survey, 1) + "?saved=1").content.decode()
    )
    review = reverse("surveys:review", args=[survey.token])
    assert fill(client, survey, 1, [1, 2, 3], action="review").url == review
    assert fill(client, survey, 2, [1, 2], action="next").url == review
    assert fill(client, survey, 0, [1, 2, 3], action="back").url == reverse(
        "surveys:about", args=[survey.token]
    )


def test_the_link_resumes_where_the_expert_stopped(client, survey):
    consent(client, survey)
    assert client.get(survey.url).url == block_url(survey, 0)
    fill(client, survey, 0, [5, 5, 5])
    assert client.get(survey.url).url == block_url(survey, 1), "block one done: block two"
    fill(client, survey, 1, [5, None, None], action="save")
    assert client.get(survey.url).url == block_url(survey, 1), "block two half done"
    fill(client, survey, 1, [5, 5, "cj"])
    fill(client, survey, 2, [5, 5])
    assert client.get(survey.url).url == reverse("surveys:review", args=[survey.token])


def test_about_page_repeats_the_statements_without_consent_form(client, survey):
    consent(client, survey)
    html = client.get(reverse("surveys:about", args=[survey.token])).content.decode()
    assert "Who sees what" in html
    assert 'name="consent"' not in html
    assert "Continue where you stopped" in html


def test_autosave_answers_json_with_progress(client, survey):
    consent(client, survey)
    items = survey.items(0)
    url = reverse("surveys:autosave", args=[survey.token, survey.blocks[0].order])
    reply = client.post(url, answers(items, [7, None, "cj"], [3]))
    assert reply.status_code == 200
    body = reply.json()
    assert body["ok"] is True
    assert body["progress"] == {"answered": 2, "total": 8, "percent": 25, "text": "2 of 8 answered"}
    assert stored(Response.objects.get()) == {
        items[0].pk: (7, False, 3),
        items[2].pk: (None, True, None),
    }


def test_autosave_accepts_get_only_never(client, survey):
    consent(client, survey)
    url = reverse("surveys:autosave", args=[survey.token, survey.blocks[0].order])
    assert client.get(url).status_code == 405


def test_review_lists_answered_and_missing_items(client, survey):
    consent(client, survey)
    fill(client, survey, 0, [5, 5, 5])
    fill(client, survey, 1, [5, None, "cj"])
    html = client.get(reverse("surveys:review", args=[survey.token])).content.decode()
    assert html.count("3 of 3 answered") == 1
    assert "2 of 3 answered" in html
    assert "0 of 2 answered" in html
    assert "Not answered yet:" in html
    missing = re.findall(r'<ul class="review-missing">(.*?)</ul>', html, re.S)
    assert re.findall(r"<li>(.*?)</li>", missing[0]) == ["Protectee"]
    assert re.findall(r"<li>(.*?)</li>", missing[1]) == ["Independent", "Protectee"]
    assert "3 questions are unanswered" in html
    assert "6 of 8 answered" not in html and "5 of 8 answered" in html


# Submission --------------------------------------------------------------------------------


def test_submit_locks_marks_the_invitation_and_schedules_aggregation(client, survey, schedule):
    consent(client, survey)
    fill(client, survey, 0, [5, 6, 7])
    page = client.post(reverse("surveys:submit", args=[survey.token]))
    assert page.url == reverse("surveys:thanks", args=[survey.token])
    response = Response.objects.get()
    assert response.status == Response.Status.SUBMITTED
    assert response.submitted_at is not None
    invitation = Invitation.objects.get(pk=survey.invitation.pk)
    assert invitation.status == Invitation.Status.SUBMITTED
    assert invitation.submitted_at == response.submitted_at
    schedule.assert_called_once_with(wave_id=survey.wave.pk)
    thanks = client.get(page.url)
    assert thanks.status_code == 200
    assert "Thank you!" in thanks.content.decode()
    assert client.get(survey.url).url == page.url, "the link now shows the thanks"


def test_double_submit_leaves_exactly_one_submitted_response(client, survey, schedule):
    consent(client, survey)
    fill(client, survey, 0, [5, 6, 7])
    url = reverse("surveys:submit", args=[survey.token])
    first, second = client.post(url), client.post(url)
    assert first.url == second.url == reverse("surveys:thanks", args=[survey.token])
    response = Response.objects.get()
    submitted_at = response.submitted_at
    assert questionnaire.response_submit(response=response).submitted_at == submitted_at
    assert Response.objects.count() == 1
    assert Response.objects.get().submitted_at == submitted_at
    schedule.assert_called_once_with(wave_id=survey.wave.pk)


def submit_from_last_block(client, survey, values, confidences=None, comment=""):
    return fill(client, survey, len(survey.blocks) - 1, values, confidences, "submit", comment)


def test_no_block_page_offers_submit_the_last_leads_to_the_review(client, survey):
    consent(client, survey)
    for index in range(len(survey.blocks) - 1):
        html = client.get(block_url(survey, index)).content.decode()
        assert 'value="submit"' not in html
        assert 'value="next" class="button button-primary">Next<' in html
    html = client.get(block_url(survey, 2)).content.decode()
    assert 'value="submit"' not in html
    assert 'value="review" class="button button-primary">Review and submit<' in html
    assert "You submit your answers on the review page" in html


@pytest.mark.parametrize("action", ["submit", "review", ""])
def test_a_block_post_never_submits_it_saves_and_shows_the_review(client, survey, schedule, action):
    """Enter on the last page posts it with its first button, or none: never a submission."""
    consent(client, survey)
    fill(client, survey, 0, [5, 6, 7])
    fill(client, survey, 1, [1, "cj", 3])
    items = survey.items(2)
    page = fill(client, survey, 2, [8, "cj"], [4, None], action=action, comment="Done.")
    assert page.url == reverse("surveys:review", args=[survey.token])
    response = Response.objects.get()
    assert response.status == Response.Status.DRAFT, "not submitted behind the expert's back"
    ratings = stored(response)
    assert ratings[items[0].pk] == (8, False, 4) and ratings[items[1].pk] == (None, True, None)
    assert BlockComment.objects.get(block=survey.blocks[2]).text == "Done."
    schedule.assert_not_called()
    html = client.get(page.url).content.decode()
    assert "You have answered every question." in html
    submitted = client.post(reverse("surveys:submit", args=[survey.token]))
    assert submitted.url == reverse("surveys:thanks", args=[survey.token])
    assert Response.objects.get().status == Response.Status.SUBMITTED
    schedule.assert_called_once_with(wave_id=survey.wave.pk)


def test_the_review_lists_what_is_missing_before_the_submit(client, survey, schedule):
    consent(client, survey)
    fill(client, survey, 0, [5, None, 7])  # one row of an earlier page left open
    fill(client, survey, 1, [1, 2, 3])
    page = submit_from_last_block(client, survey, [8, 9])
    assert page.url == reverse("surveys:review", args=[survey.token])
    assert len(stored(Response.objects.get())) == 7, "the page is saved"
    html = client.get(page.url).content.decode()
    assert "1 question is unanswered" in html
    assert Response.objects.get().status == Response.Status.DRAFT
    schedule.assert_not_called()


def test_an_invalid_last_page_stores_nothing(client, survey, schedule):
    consent(client, survey)
    fill(client, survey, 0, [5, 6, 7])
    fill(client, survey, 1, [1, 2, 3])
    before = stored(Response.objects.get())
    page = submit_from_last_block(client, survey, [8, 11])
    assert page.status_code == 400
    assert "outside the scale 0–10" in page.content.decode()
    assert Response.objects.get().status == Response.Status.DRAFT
    assert stored(Response.objects.get()) == before
    schedule.assert_not_called()


def test_a_block_post_after_the_submit_is_refused(client, survey, schedule):
    consent(client, survey)
    fill(client, survey, 0, [5, 6, 7])
    fill(client, survey, 1, [1, 2, 3])
    submit_from_last_block(client, survey, [8, 9])
    client.post(reverse("surveys:submit", args=[survey.token]))
    submitted_at = Response.objects.get().submitted_at
    again = submit_from_last_block(client, survey, [0, 0])  # a retry, or another tab
    assert again.status_code == 409
    assert "already submitted" in again.content.decode()
    response = Response.objects.get()
    assert response.submitted_at == submitted_at
    assert stored(response)[survey.items(2)[0].pk] == (8, False, None), "the first one holds"
    schedule.assert_called_once_with(wave_id=survey.wave.pk)


def test_autosave_never_submits(client, survey, schedule):
    consent(client, survey)
    fill(client, survey, 0, [5, 6, 7])
    fill(client, survey, 1, [1, 2, 3])
    url = reverse("surveys:autosave", args=[survey.token, survey.blocks[2].order])
    reply = client.post(url, {**answers(survey.items(2), [8, 9]), "action": "submit"})
    assert reply.status_code == 200
    assert reply.json()["progress"]["answered"] == 8
    assert Response.objects.get().status == Response.Status.DRAFT
    schedule.assert_not_called()


def test_a_one_page_questionnaire_takes_seven_requests(client, schedule):
    """The peer benchmark's flow: link, consent, page, its post, review, submit, thanks."""
    survey = survey_open(
        blocks=[("RUS", "RUS", "conception", ["regional_leader", "great_power", "bridge"])],
        other_panel_block=False,
        language="en",
    )
    landing = client.get(survey.url)
    assert 'name="consent"' in landing.content.decode()
    started = consent(client, survey)
    assert started.url == block_url(survey, 0)
    html = client.get(started.url).content.decode()
    assert "Page 1 of 1" in html and 'value="review"' in html
    reviewed = fill(client, survey, 0, [9, 8, "cj"], action="review")
    assert reviewed.url == reverse("surveys:review", args=[survey.token])
    assert client.get(reviewed.url).status_code == 200
    done = client.post(reverse("surveys:submit", args=[survey.token]))
    assert done.url == reverse("surveys:thanks", args=[survey.token])
    assert client.get(done.url).status_code == 200
    assert Response.objects.get().status == Response.Status.SUBMITTED
    assert Rating.objects.count() == 3
    schedule.assert_called_once()


@pytest.mark.django_db(transaction=True)
def test_concurrent_submits_submit_once(reference_data):
    survey = survey_open(other_panel_block=False)
    invitation = Invitation.objects.get(pk=survey.invitation.pk)
    response = questionnaire.response_start(invitation=invitation)
    barrier = threading.Barrier(2)
    results, errors = [], []

    def submit():
        try:
            barrier.wait()
            results.append(questionnaire.response_submit(response=response).submitted_at)
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)
        finally:
            connection.close()

    with mock.patch("surveys.questionnaire.aggregation_schedule") as schedule:
        threads = [threading.Thread(target=submit) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert not errors
    assert len(set(results)) == 1
    schedule.assert_called_once_with(wave_id=survey.wave.pk)
    assert Response.objects.filter(status=Response.Status.SUBMITTED).count() == 1


def test_submitted_response_is_locked(client, survey, schedule):
    consent(client, survey)
    items = survey.items(0)
    fill(client, survey, 0, [5, 6, 7])
    client.post(reverse("surveys:submit", args=[survey.token]))
    before = stored(Response.objects.get())

    page = fill(client, survey, 0, [0, 0, 0])
    assert page.status_code == 409
    assert "already submitted" in page.content.decode()
    autosave = reverse("surveys:autosave", args=[survey.token, survey.blocks[0].order])
    reply = client.post(autosave, answers(items, [1, 1, 1]))
    assert reply.status_code == 409
    assert reply.json()["ok"] is False
    assert stored(Response.objects.get()) == before
    thanks = reverse("surveys:thanks", args=[survey.token])
    assert client.get(block_url(survey, 0)).url == thanks
    assert client.get(reverse("surveys:review", args=[survey.token])).url == thanks


def test_an_admin_can_reopen_a_submitted_response(client, survey, schedule):
    consent(client, survey)
    items = survey.items(0)
    fill(client, survey, 0, [5, 6, 7])
    client.post(reverse("surveys:submit", args=[survey.token]))
    response = questionnaire.response_reopen(response=Response.objects.get())
    assert response.status == Response.Status.DRAFT
    assert response.submitted_at is None
    invitation = Invitation.objects.get(pk=survey.invitation.pk)
    assert invitation.status == Invitation.Status.STARTED
    assert invitation.submitted_at is None
    assert schedule.call_count == 2, "the wave's aggregates change again"
    fill(client, survey, 0, [1, 1, 1])
    assert stored(response)[items[0].pk] == (1, False, None)


# Privacy -----------------------------------------------------------------------------------


def test_pages_set_no_cookie_but_csrf_and_load_nothing_from_elsewhere(client, survey):
    page = client.get(survey.url)
    assert set(page.cookies) <= {"csrftoken"}
    assert "no-store" in page.headers["Cache-Control"]
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert "default-src 'self'" in page.headers["Content-Security-Policy"]
    consent(client, survey)
    for url in (block_url(survey, 0), reverse("surveys:review", args=[survey.token])):
        page = client.get(url)
        html = page.content.decode()
        assert not re.search(r'(src|href|action)="(https?:)?//', html), url
        assert set(page.cookies) <= {"csrftoken"}
    assert "sessionid" not in client.cookies


def test_no_ip_address_is_stored_or_logged(client, survey, caplog):
    ip_fields = [
        field
        for model in (Response, Invitation, Rating, BlockComment)
        for field in model._meta.get_fields()
        if isinstance(field, models.GenericIPAddressField)
    ]
    assert not ip_fields
    address = "203.0.113.77"
    with caplog.at_level(logging.DEBUG):
        client.get(survey.url, REMOTE_ADDR=address)
        client.post(survey.url, {"consent": "on"}, REMOTE_ADDR=address)
        fill(client, survey, 0, [11, 1, 1])  # an error page too
        client.get("/s/unknown-token/", REMOTE_ADDR=address)
    assert address not in caplog.text


def test_each_link_sees_only_its_own_response(client, survey):
    colleague = ExpertFactory(panel=survey.panel)
    invitation, token = invitation_create(expert=colleague, wave=survey.wave)
    consent(client, survey)
    fill(client, survey, 0, [9, 9, 9])
    client.post(f"/s/{token}/", {"consent": "on"})
    assert Response.objects.count() == 2
    html = client.get(reverse("surveys:block", args=[token, survey.blocks[0].order])).content
    assert b" checked" not in html.replace(b'value="" checked', b"")
    assert Response.objects.get(invitation=invitation).ratings.count() == 0


def test_page_queries_do_not_grow_with_the_questionnaire(client, django_assert_max_num_queries):
    small = survey_open(
        blocks=[("ARM", "ARM", "conception", ["independent", "protectee"])],
        other_panel_block=False,
    )
    every_role = [
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
    large = survey_open(
        blocks=[
            ("RUS", "RUS", "conception", every_role),
            ("RUS", "RUS", "performance", every_role),
            ("RUS", "ARM", "expectation", every_role),
            ("ARM", "ARM", "conception", every_role),
        ],
        other_panel_block=False,
    )
    counts = {}
    for name, survey in (("small", small), ("large", large)):
        consent(client, survey)
        fill(client, survey, 0, [5] * len(survey.items(0)))
        pages = {
            "block": block_url(survey, 0),
            "review": reverse("surveys:review", args=[survey.token]),
            "landing": reverse("surveys:about", args=[survey.token]),
        }
        for page, url in pages.items():
            with django_assert_max_num_queries(10) as captured:
                assert client.get(url).status_code == 200
            counts[name, page] = len(captured)
    for page in ("block", "review", "landing"):
        assert counts["small", page] == counts["large", page], page


def test_block_page_shows_the_stored_answers_checked(client, survey):
    consent(client, survey)
    items = survey.items(0)
    fill(client, survey, 0, [8, "cj", None], [4, None, None])
    html = client.get(block_url(survey, 0)).content.decode()
    checked = set(re.findall(r'<input type="radio"[^>]* id="([^"]+)"[^>]* checked', html))
    first, second, third = (item.pk for item in items)
    assert checked == {
        f"v-{first}-8",
        f"c-{first}-4",
        f"v-{second}-cj",
        f"c-{second}-none",
        f"v-{third}-none",  # "no answer": the row is unanswered
        f"c-{third}-none",
    }
    answered = set(re.findall(r'<fieldset class="role is-answered" id="row-([0-9]+)"', html))
    assert answered == {str(first), str(second)}
    assert html.count('<fieldset class="role" id="row-') == 1
    assert "\x00" not in html, "no slot marker is left in the page"


def test_the_questionnaire_is_read_once_per_process(client, survey, django_assert_num_queries):
    consent(client, survey)
    selectors.questionnaire_cache_clear()
    url = block_url(survey, 0)
    # link, 4 for the questionnaire, ratings, comment, the page's last applied change
    with django_assert_num_queries(8):
        client.get(url)
    with django_assert_num_queries(4):  # link, ratings, comment, last change
        client.get(url)
    with django_assert_num_queries(4):
        client.get(block_url(survey, 1))


def test_kept_questionnaires_are_per_wave_and_panel(client, survey):
    other = survey_open(language="en")
    consent(client, survey)
    consent(client, other)
    mine = client.get(block_url(survey, 0)).content.decode()
    theirs = client.get(block_url(other, 0)).content.decode()
    assert f'name="v-{survey.items(0)[0].pk}"' in mine
    assert f'name="v-{survey.items(0)[0].pk}"' not in theirs
    assert f'name="v-{other.items(0)[0].pk}"' in theirs


def test_actor_names_edited_while_open_show_once_the_kept_copy_expires(client, survey, mocker):
    consent(client, survey)
    assert "How strongly does Russia expect" in client.get(block_url(survey, 0)).content.decode()
    InstrumentText.objects.filter(actor__code="RUS", field="name", language="en").update(
        text="The Russian Federation"
    )
    assert "Russia expect" in client.get(block_url(survey, 0)).content.decode(), "kept"
    later = questionnaire_cache._clock() + questionnaire_cache.QUESTIONNAIRE_CACHE_SECONDS + 1
    mocker.patch("surveys.questionnaire_cache._clock", return_value=later)
    html = client.get(block_url(survey, 0)).content.decode()
    assert "How strongly does The Russian Federation expect" in html


def test_a_draft_waves_questionnaire_is_never_kept(survey):
    draft = WaveFactory(status=Wave.Status.DRAFT)
    first = selectors.questionnaire_get(wave=draft, panel_id=survey.panel.pk)
    assert selectors.questionnaire_get(wave=draft, panel_id=survey.panel.pk) is not first
    kept = selectors.questionnaire_get(wave=survey.wave, panel_id=survey.panel.pk)
    assert selectors.questionnaire_get(wave=survey.wave, panel_id=survey.panel.pk) is kept


# Offline changes: replayed, late, cleared; compressed pages --------------------------------


def autosave(client, survey, index, values, *, change_id, sequence, comment=""):
    url = reverse("surveys:autosave", args=[survey.token, survey.blocks[index].order])
    data = answers(survey.items(index), values, comment=comment)
    data |= {"change_id": change_id, "change_sequence": str(sequence)}
    return client.post(url, data, HTTP_ORIGIN="http://testserver")


def test_a_replayed_change_is_stored_once(client, survey):
    consent(client, survey)
    items = survey.items(0)
    first = autosave(client, survey, 0, [7, 8, None], change_id="a" * 32, sequence=1000)
    assert first.json()["applied"] is True
    # The same change again (its acknowledgement was lost); tampered, to see that it is
    # not written a second time.
    with CaptureQueriesContext(connection) as queries:
        again = autosave(client, survey, 0, [1, 1, 1], change_id="a" * 32, sequence=1000)
    assert again.status_code == 200
    assert again.json()["ok"] is True and again.json()["applied"] is False
    writes = [
        query["sql"]
        for query in queries.captured_queries
        if re.match(r"(INSERT|UPDATE|DELETE)", query["sql"])
        and ("surveys_rating" in query["sql"] or "surveys_blockcomment" in query["sql"])
    ]
    assert writes == []
    assert stored(Response.objects.get()) == {
        items[0].pk: (7, False, None),
        items[1].pk: (8, False, None),
    }


def test_an_older_change_never_overwrites_a_newer_one(client, survey):
    consent(client, survey)
    items = survey.items(0)
    newer = autosave(client, survey, 0, [3, None, None], change_id="b" * 32, sequence=2000)
    assert newer.json()["applied"] is True
    older = autosave(client, survey, 0, [9, 9, 9], change_id="c" * 32, sequence=1999, comment="old")
    assert older.status_code == 200 and older.json()["applied"] is False
    assert stored(Response.objects.get()) == {items[0].pk: (3, False, None)}
    assert not BlockComment.objects.exists()
    newest = autosave(client, survey, 0, [4, None, None], change_id="d" * 32, sequence=2001)
    assert newest.json()["applied"] is True
    assert stored(Response.objects.get()) == {items[0].pk: (4, False, None)}


def test_the_order_of_changes_is_kept_with_the_answers_and_dropped_when_the_wave_closes(
    client, survey
):
    """The record of the last change lives in the database, in the page's transaction."""
    consent(client, survey)
    autosave(client, survey, 0, [3, None, None], change_id="b" * 32, sequence=2000)
    cache.clear()  # nothing of the ordering lives in the cache
    older = autosave(client, survey, 0, [9, 9, 9], change_id="c" * 32, sequence=1999)
    assert older.json()["applied"] is False
    response = Response.objects.get()
    assert list(response.applied_block_changes.values_list("change_id", "sequence")) == [
        ("b" * 32, 2000)
    ]
    wave_close(wave=response.wave)  # cuts the responses from their experts (linkage)
    assert not AppliedBlockChange.objects.exists()


def test_a_page_posted_without_javascript_is_newer_than_earlier_changes(client, survey):
    consent(client, survey)
    items = survey.items(0)
    autosave(client, survey, 0, [3, 3, 3], change_id="e" * 32, sequence=5000)
    fill(client, survey, 0, [6, None, None], action="save")
    html = client.get(block_url(survey, 0)).content.decode()
    shown = int(re.search(r'data-change-sequence="([0-9]+)"', html).group(1))
    assert shown > 5000, "the page tells the browser where its changes must start"
    late = autosave(client, survey, 0, [3, 3, 3], change_id="f" * 32, sequence=5001)
    assert late.json()["applied"] is False
    assert stored(Response.objects.get()) == {items[0].pk: (6, False, None)}


def test_the_page_post_of_a_change_already_saved_moves_on_without_writing(client, survey):
    consent(client, survey)
    autosave(client, survey, 0, [2, 2, 2], change_id="g" * 32, sequence=7000)
    data = answers(survey.items(0), [5, 5, 5])
    data |= {"change_id": "g" * 32, "change_sequence": "7000", "action": "next"}
    page = client.post(block_url(survey, 0), data)
    assert page.url == block_url(survey, 1)
    assert set(stored(Response.objects.get()).values()) == {(2, False, None)}


def test_a_change_needs_both_its_id_and_sequence(client, survey):
    consent(client, survey)
    url = reverse("surveys:autosave", args=[survey.token, survey.blocks[0].order])
    reply = client.post(url, {"change_id": "h" * 32})
    assert reply.status_code == 400
    assert reply.json()["errors"] == ["A change needs both its id and its sequence."]


def test_an_answer_can_be_cleared_back_to_unanswered(client, survey):
    consent(client, survey)
    items = survey.items(0)
    fill(client, survey, 0, [4, "cj", 9], [2, None, None], action="save")
    data = {f"v-{items[0].pk}": "", f"c-{items[0].pk}": "", f"v-{items[1].pk}": ""}
    data |= {f"v-{items[2].pk}": "9", "comment": "", "action": "save"}
    client.post(block_url(survey, 0), data)
    assert stored(Response.objects.get()) == {items[2].pk: (9, False, None)}
    html = client.get(block_url(survey, 0)).content.decode()
    assert re.search(rf'id="v-{items[0].pk}-none"[^>]* checked', html)
    assert f'<label for="v-{items[0].pk}-none">No answer</label>' in html


def test_pages_are_gzip_compressed_for_clients_that_accept_it(client, survey):
    consent(client, survey)
    url = block_url(survey, 0)
    plain = client.get(url)
    assert "Content-Encoding" not in plain
    packed = client.get(url, HTTP_ACCEPT_ENCODING="gzip, deflate, br")
    assert packed["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in packed["Vary"]
    html = gzip.decompress(packed.content).decode()
    assert html.startswith("<!doctype html>")
    assert len(packed.content) * 4 < len(plain.content)


def test_the_service_worker_and_offline_page_hold_no_link(client, survey):
    consent(client, survey)
    worker = client.get("/s/sw.js?lang=ru")
    assert worker.status_code == 200
    assert worker["Content-Type"].startswith("text/javascript")
    assert "no-cache" in worker["Cache-Control"] and "no-store" in worker["Cache-Control"]
    script = worker.content.decode()
    assert re.search(r'var CACHE = "survey-offline-[0-9a-f]{12}";', script)
    assert '"/s/offline.html?lang=ru"' in script
    assert survey.token not in script
    offline = client.get("/s/offline.html?lang=ru")
    assert offline.status_code == 200
    assert offline["Content-Language"] == "ru"
    assert 'lang="ru"' in offline.content.decode()
    assert survey.token not in offline.content.decode()
    assert client.head("/s/sw.js").status_code == 200


def test_autosave_accepts_a_null_origin_only_from_the_same_site(client, survey):
    """The pages send no referrer, so a browser may post with ``Origin: null``; its
    ``Sec-Fetch-Site`` then decides."""
    consent(client, survey)
    url = reverse("surveys:autosave", args=[survey.token, survey.blocks[0].order])
    data = answers(survey.items(0), [3, 4, 5]) | {"change_id": "n" * 32, "change_sequence": "5"}
    same = client.post(url, data, HTTP_ORIGIN="null", HTTP_SEC_FETCH_SITE="same-origin")
    assert same.status_code == 200
    cross = client.post(url, data, HTTP_ORIGIN="null", HTTP_SEC_FETCH_SITE="cross-site")
    assert cross.status_code == 403
    unknown = client.post(url, data, HTTP_ORIGIN="null")
    assert unknown.status_code == 403
