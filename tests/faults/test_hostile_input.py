"""Hostile posts to the expert form: random field names and values, unicode edge cases,
oversized bodies, too many fields, wrong content types, tampered item ids, forged tokens.

Every generated request is refused by construction (it carries at least one thing the form
must refuse), so the property is simple: the answer is a 4xx with a clear message, never a
5xx, and nothing in the database changed (not even part of a page).
"""

import json
from urllib.parse import quote, urlencode

import pytest
from django.test import Client
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from surveys.models import BlockComment, Item, Rating, Response
from tests.factories import survey_open
from tests.surveys.test_questionnaire import consent, fill

pytestmark = pytest.mark.django_db

FUZZ = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
MULTIPART = "multipart/form-data; boundary=BoUnDaRy"

text = st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=40)
edge_strings = st.sampled_from(
    [
        "",
        "\x00",
        "5\x00",
        "٣",  # an Arabic-Indic digit: int() would take it, the form must not
        "５",  # a full-width digit
        "1e3",
        " 5",
        "+5",
        "0x5",
        "5" * 5000,
        "\u202e5",
        "\ufeff5",
        "🙂",
        "NaN",
        "-",
        "cj ",
        "<script>alert(1)</script>",
        "' OR 1=1 --",
    ]
)
values = st.one_of(text, edge_strings, st.integers(-(10**30), 10**30).map(str))


@pytest.fixture
def target(reference_data, settings, mocker):
    """An expert with a saved draft, and everything a fuzzed request may aim at."""
    settings.INVITATION_LINK_RATE_LIMIT = 10**9  # the fuzzing is not an attack on the limit
    mocker.patch("surveys.questionnaire.aggregation_schedule")
    survey = survey_open(language="en")  # with a block of another panel
    client = Client()
    consent(client, survey)
    fill(client, survey, 0, [5, 6, 7], confidences=[3, 4, 5], comment="my comment")
    mine = [item.pk for block in survey.blocks for item in block.items.all()]
    foreign = list(Item.objects.exclude(block__panels=survey.panel).values_list("pk", flat=True))
    assert foreign
    return {"survey": survey, "client": client, "mine": mine, "foreign": foreign}


def snapshot() -> tuple:
    return (
        sorted(
            Rating.objects.values_list(
                "response_id", "item_id", "value", "cannot_judge", "confidence", "updated_at"
            )
        ),
        sorted(BlockComment.objects.values_list("response_id", "block_id", "text")),
        sorted(Response.objects.values_list("pk", "status", "last_block", "updated_at")),
    )


def poison(target) -> st.SearchStrategy:
    """One field that makes the whole post refusable."""
    mine, foreign = target["mine"], target["foreign"]
    not_a_field = text.filter(
        lambda name: (
            name not in {"comment", "action", "csrfmiddlewaretoken", "change_id", "change_sequence"}
            and not (name[:2] in ("v-", "c-") and name[2:].isascii() and name[2:].isdigit())
        )
    )
    return st.one_of(
        st.tuples(st.sampled_from(foreign).map(lambda pk: f"v-{pk}"), st.just("5")),
        st.tuples(st.integers(10**6, 10**12 - 1).map(lambda pk: f"v-{pk}"), st.just("5")),
        st.tuples(
            st.sampled_from(mine).map(lambda pk: f"v-{pk}"),
            st.integers(11, 9999).map(str) | st.integers(-9999, -1).map(str),
        ),
        st.tuples(
            st.sampled_from(mine).map(lambda pk: f"c-{pk}"),
            st.sampled_from(["0", "6", "-1", "9999"]),
        ),
        st.tuples(
            st.sampled_from(mine).map(lambda pk: f"v-{pk}"),
            values.filter(
                lambda value: (
                    not (
                        value.isascii()
                        and value.lstrip("-").isdigit()
                        and len(value.lstrip("-")) <= 4
                    )
                    and value not in ("cj", "")  # "" is "no answer": a valid choice
                )
            ),
        ),
        st.tuples(not_a_field, values),
        st.tuples(st.just("comment"), st.just("x" * 4001)),
        st.tuples(
            st.just("action"),
            values.filter(
                lambda value: value not in ("", "next", "back", "save", "review", "submit")
            ),
        ),
    )


def assert_refused_cleanly(page, before) -> None:
    assert 400 <= page.status_code < 500, (page.status_code, page.content[:500])
    body = page.content.decode("utf-8", "replace")
    if page["Content-Type"].startswith("application/json"):
        payload = json.loads(body)
        assert payload["ok"] is False and payload["errors"] and all(payload["errors"])
    elif page.status_code != 405:
        assert "<h1>" in body, "an HTML page that says what happened"
    assert "Traceback" not in body
    assert snapshot() == before, "a refused post changed stored data"


@given(data=st.data())
@FUZZ
def test_fuzzed_block_posts_are_refused_whole(target, data):
    survey = target["survey"]
    before = snapshot()
    orders = [block.order for block in survey.blocks]
    order = data.draw(st.one_of(st.sampled_from(orders), st.integers(0, 10**6)), "order")
    view = data.draw(st.sampled_from(["surveys:block", "surveys:autosave"]), "view")
    fields = data.draw(
        st.lists(
            st.one_of(
                st.tuples(st.sampled_from(target["mine"]).map(lambda pk: f"v-{pk}"), values),
                st.tuples(text, values),
                st.tuples(st.sampled_from(["comment", "action"]), values),
            ),
            max_size=8,
        ),
        "fields",
    )
    fields.append(data.draw(poison(target), "poison"))
    fields = data.draw(st.permutations(fields), "order of fields")
    encoding = data.draw(st.sampled_from(["urlencoded", "multipart"]), "encoding")
    url = reverse(view, args=[survey.token, order])
    if encoding == "urlencoded":
        body = urlencode(fields)
        page = target["client"].post(url, body, content_type="application/x-www-form-urlencoded")
    else:
        parts = [
            f'--BoUnDaRy\r\nContent-Disposition: form-data; name="{quote(name)}"\r\n\r\n{value}\r\n'
            for name, value in fields
        ]
        page = target["client"].post(
            url, "".join(parts) + "--BoUnDaRy--\r\n", content_type=MULTIPART
        )
    assert_refused_cleanly(page, before)


@given(data=st.data())
@FUZZ
def test_forged_and_tampered_tokens_are_refused(target, data):
    survey = target["survey"]
    before = snapshot()
    valid = survey.token
    token = data.draw(
        st.one_of(
            st.text(alphabet=st.characters(exclude_categories=("Cs",)), min_size=1, max_size=40),
            st.integers(0, len(valid) - 1).flatmap(
                lambda at: (
                    st.sampled_from("AbZ09-_")
                    .filter(lambda c: c != valid[at])
                    .map(lambda c: valid[:at] + c + valid[at + 1 :])
                )
            ),
            st.just(valid + "A"),
            st.just(valid[:-1]),
            st.just(valid.upper() if valid.upper() != valid else valid.lower()),
            st.just("A" * 10_000),
        ),
        "token",
    )
    path = data.draw(
        st.sampled_from(["", "b/{order}/", "b/{order}/autosave/", "submit/", "language/"]),
        "page",
    ).format(order=survey.blocks[0].order)
    url = f"/s/{quote(token, safe='')}/{path}"
    fields = {f"v-{pk}": "5" for pk in target["mine"]} | {"language": "ru", "consent": "on"}
    page = target["client"].post(url, fields)
    assert page.status_code in (400, 404), page.status_code
    assert_refused_cleanly(page, before)


@given(data=st.data())
@FUZZ
def test_wrong_content_types_oversized_bodies_and_too_many_fields(target, data):
    survey = target["survey"]
    before = snapshot()
    url = reverse(
        data.draw(st.sampled_from(["surveys:block", "surveys:autosave"]), "view"),
        args=[survey.token, survey.blocks[0].order],
    )
    kind = data.draw(st.sampled_from(["content type", "oversized", "many fields", "bytes"]))
    client = target["client"]
    if kind == "content type":
        content_type = data.draw(
            st.sampled_from(
                [
                    "application/json",
                    "text/plain",
                    "application/xml",
                    "application/octet-stream",
                    "text/html; charset=utf-8",
                    "image/png",
                    "x/unknown",
                ]
            )
        )
        body = json.dumps({f"v-{target['mine'][0]}": 0})
        page = client.post(url, body, content_type=content_type)
        assert page.status_code == 415
    elif kind == "oversized":
        size = data.draw(st.integers(256 * 1024 + 1, 2 * 1024 * 1024))
        page = client.post(url, {"comment": "x" * size, f"v-{target['mine'][0]}": "0"})
        assert page.status_code == 400
    elif kind == "many fields":
        count = data.draw(st.integers(2001, 5000))
        body = "&".join(f"f{n}=1" for n in range(count))
        page = client.post(url, body, content_type="application/x-www-form-urlencoded")
        assert page.status_code == 400
    else:
        raw = data.draw(st.binary(min_size=1, max_size=2000))
        # Undecodable bytes, and a field that is refused in any case.
        body = raw + b"&" + urlencode({f"v-{target['foreign'][0]}": "5"}).encode()
        page = client.post(url, body, content_type="application/x-www-form-urlencoded")
    assert_refused_cleanly(page, before)


def test_post_without_csrf_token_is_refused(target):
    survey = target["survey"]
    before = snapshot()
    strict = Client(enforce_csrf_checks=True)
    page = strict.post(
        reverse("surveys:block", args=[survey.token, survey.blocks[0].order]),
        {f"v-{target['mine'][0]}": "0"},
    )
    assert page.status_code == 403
    assert snapshot() == before
