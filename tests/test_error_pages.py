"""The error pages of the site (404, 500, 403, a refused form, 400) speak the visitor's
language, as the expert pages do, instead of Django's English defaults."""

import pytest
from django.template.loader import render_to_string
from django.test import Client
from django.utils import translation

from tests.factories import survey_open

PAGE_NOT_FOUND = {
    "en": "Page not found",
    "ru": "Страница не найдена",
    "kk": "Бет табылмады",
    "hy": "Էջը չի գտնվել",
    "ky": "Барак табылган жок",
    "tg": "Саҳифа ёфт нашуд",
}


@pytest.mark.parametrize("language", PAGE_NOT_FOUND)
def test_an_unknown_address_answers_a_404_in_the_visitors_language(client, language, db):
    page = client.get("/no-such-page/", HTTP_ACCEPT_LANGUAGE=language)
    assert page.status_code == 404
    html = page.content.decode()
    assert f'<html lang="{language}"' in html
    assert f"<h1>{PAGE_NOT_FOUND[language]}</h1>" in html


def test_the_server_error_page_is_translated():
    with translation.override("hy"):
        html = render_to_string("500.html")
    assert "Ինչ-որ բան սխալ ընթացավ" in html and 'lang="hy"' in html


def test_a_form_refused_for_its_csrf_token_says_so_in_the_link_language(db):
    survey = survey_open(language="ky")
    page = Client(enforce_csrf_checks=True).post(survey.url, {"consent": "on"})
    assert page.status_code == 403
    html = page.content.decode()
    assert "Форма кабыл алынган жок" in html
    assert "Мурда сакталган жооптор жоголгон жок." in html
