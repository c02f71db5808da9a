"""Languages with the survey's fallback chain: Kazakh, Armenian, Kyrgyz, Tajik → Russian → English.

Django's gettext falls back from any language straight to ``LANGUAGE_CODE`` (English). Our
experts read Russian when their own language has no translation yet, so each language
outside ``settings.LANGUAGE_FALLBACKS`` gets the first of them as its catalog's fallback
(Russian, whose own fallback is Django's: English). The same order applies to the
instrument's texts through ``surveys.texts.selectors.text_pick``.

The questionnaire views call ``language_override``; ``LanguageFallbackMiddleware``, placed
after ``LocaleMiddleware``, extends the chain to every other page.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from itertools import pairwise

from django.conf import settings
from django.utils import translation
from django.utils.translation import trans_real

INSTALLED_MARK = "_survey_fallbacks_installed"


def language_supported(language: str) -> str:
    """``language`` if the survey offers it, else the first fallback (Russian)."""
    return language if language in dict(settings.LANGUAGES) else settings.LANGUAGE_FALLBACKS[0]


def _is_source_language(language: str) -> bool:
    # The msgids are English: an English catalog must never fall back to another language.
    return language == settings.LANGUAGE_CODE or language.startswith("en")


def translation_fallbacks_install(language: str) -> None:
    """Chain the catalogs of ``language`` through ``LANGUAGE_FALLBACKS`` (idempotent).

    Django caches one catalog object per language; the chain is set on those objects once
    and rebuilt whenever Django drops its cache (e.g. a test changing ``LOCALE_PATHS``).
    """
    if not language or _is_source_language(language):
        return
    catalog = trans_real.translation(language)
    if getattr(catalog, INSTALLED_MARK, False):
        return
    chain = [language, *(code for code in settings.LANGUAGE_FALLBACKS if code != language)]
    for current, fallback in pairwise(chain):
        if _is_source_language(current):
            break
        trans_real.translation(current)._fallback = trans_real.translation(fallback)
    setattr(catalog, INSTALLED_MARK, True)


@contextmanager
def language_override(language: str) -> Iterator[str]:
    """Activate ``language`` (or Russian if unsupported) with its fallbacks, then restore."""
    language = language_supported(language)
    translation_fallbacks_install(language)
    with translation.override(language):
        yield language


class LanguageFallbackMiddleware:
    """Give the language ``LocaleMiddleware`` chose its fallback chain, on every page."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        translation_fallbacks_install(translation.get_language())
        return self.get_response(request)
