"""The database goes away in the middle of an expert's session (fault 1c).

The expert gets a clear 503 page (JSON for the autosave), never a traceback; the draft saved
before the outage is intact afterwards and the questionnaire continues where it stopped.

Two ways to lose the database without stopping a server other tests share: the connection
points at a database that cannot be reached for one request (a closed port on PostgreSQL,
a file in a missing folder on SQLite), and, on PostgreSQL, the server ends the app's
session (``pg_terminate_backend``), as a restart does. Django's test client does not run
``close_old_connections`` around requests; the test calls it where a real request's start
would.
"""

from contextlib import contextmanager

import psycopg
import pytest
from django.db import close_old_connections, connection
from django.urls import reverse

from surveys.models import Rating, Response
from tests.factories import survey_open
from tests.faults.conftest import needs_postgresql
from tests.surveys.test_questionnaire import answers, block_url, consent, fill

pytestmark = pytest.mark.django_db(transaction=True)


@contextmanager
def database_unreachable():
    """Every new connection fails until the block ends."""
    saved = dict(connection.settings_dict)
    connection.close()
    if connection.vendor == "sqlite":
        connection.settings_dict["NAME"] = "/nonexistent-folder/unreachable.sqlite3"
    else:
        connection.settings_dict.update({"HOST": "127.0.0.1", "PORT": "1"})
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict.clear()
        connection.settings_dict.update(saved)


def _assert_unavailable_page(page) -> None:
    body = page.content.decode()
    assert page.status_code == 503
    assert page["Retry-After"]
    assert "Briefly unavailable" in body
    assert "saved answers are safe" in body
    assert "Traceback" not in body and "OperationalError" not in body


@pytest.fixture
def survey(reference_data, mocker):
    mocker.patch("surveys.questionnaire.aggregation_schedule")
    return survey_open(language="en", other_panel_block=False)


def _draft_saved(client, survey) -> dict:
    assert consent(client, survey).status_code == 302
    assert fill(client, survey, 0, [5, 6, 7], comment="before the outage").status_code == 302
    return dict(Rating.objects.values_list("item_id", "value"))


def _continues(client, survey, before: dict) -> None:
    """After the outage: the draft is there, shown, and the expert can finish."""
    assert dict(Rating.objects.values_list("item_id", "value")) == before
    page = client.get(block_url(survey, 0))
    assert page.status_code == 200
    assert "before the outage" in page.content.decode()
    for index in range(1, len(survey.blocks)):
        assert fill(client, survey, index, [3] * len(survey.items(index))).status_code == 302
    done = client.post(reverse("surveys:submit", args=[survey.token]))
    assert done.url == reverse("surveys:thanks", args=[survey.token])
    assert Response.objects.get().status == Response.Status.SUBMITTED


def test_unreachable_database_gives_a_clear_503_and_keeps_the_draft(client, survey):
    before = _draft_saved(client, survey)
    posted = answers(survey.items(0), [0, 0, 0])
    with database_unreachable():
        _assert_unavailable_page(client.get(block_url(survey, 1)))
        _assert_unavailable_page(client.post(block_url(survey, 1), {"action": "next"}))
        autosave = reverse("surveys:autosave", args=[survey.token, survey.blocks[0].order])
        reply = client.post(autosave, posted)
        assert reply.status_code == 503
        assert reply.json()["ok"] is False
        assert "saved answers are safe" in reply.json()["errors"][0]
    _continues(client, survey, before)


@needs_postgresql
def test_server_ending_the_session_gives_a_clear_503_and_keeps_the_draft(client, survey):
    before = _draft_saved(client, survey)
    posted = answers(survey.items(0), [0, 0, 0])
    connection.ensure_connection()
    backend_pid = connection.connection.info.backend_pid
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    params["dbname"] = params.pop("dbname", None) or connection.settings_dict["NAME"]
    with psycopg.connect(**params, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [backend_pid])

    # The next request runs into the dead connection mid-way, as during a restart.
    _assert_unavailable_page(client.post(block_url(survey, 0), posted))
    close_old_connections()  # what the next real request does first: drop the broken one
    _continues(client, survey, before)
