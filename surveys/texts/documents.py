"""The translator's file of a wave in one language, whatever its format (XLIFF 2.0 or CSV).

A ``TextDocument`` holds one entry per text the wave's instrument needs: its key, the text in
the source language beside it (English; Russian for an English file), the translation and
whether it is reviewed. ``surveys.texts.exchange`` builds one from the database and reads and
writes the files; ``surveys.texts.importing`` checks and stores one.
"""

from dataclasses import dataclass

from django.core.exceptions import ValidationError


class DocumentError(ValidationError):
    """The file cannot be read as a translator's file at all (its messages say why)."""


@dataclass(frozen=True)
class TextEntry:
    """One text in a translator's file. ``place`` says where it is, for messages."""

    key: str
    target: str
    reviewed: bool = False
    source: str = ""
    note: str = ""
    place: str = ""


@dataclass(frozen=True)
class TextDocument:
    """A wave's texts in ``language`` beside ``source_language``; ``wave`` is the wave's slug
    as the file names it ("" when it does not, as a CSV file)."""

    wave: str
    source_language: str
    language: str
    entries: tuple[TextEntry, ...]


def source_language_for(language: str) -> str:
    """The language a translator reads beside ``language``: English, or Russian for English."""
    return "ru" if language == "en" else "en"
