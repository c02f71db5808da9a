"""Translators' files of a wave: built from the database, written and read as XLIFF or CSV."""

from surveys.models import InstrumentText, Wave
from surveys.texts import spreadsheet, xliff
from surveys.texts.documents import TextDocument, TextEntry, source_language_for
from surveys.texts.keys import wave_text_slots
from surveys.texts.selectors import slot_texts, slots_in_use

FORMATS = ("xliff", "csv")
CONTENT_TYPES = {
    "xliff": "application/xliff+xml; charset=utf-8",
    "csv": "text/csv; charset=utf-8",
}
EXTENSIONS = {"xliff": "xlf", "csv": "csv"}


def document_build(*, wave: Wave, language: str, source_language: str = "") -> TextDocument:
    """Every text the wave's instrument needs, in ``language`` (empty where missing), with
    the source language's text beside it (five queries)."""
    source_language = source_language or source_language_for(language)
    slots = wave_text_slots(wave=wave)
    texts = slot_texts(slots)
    entries = []
    for slot in slots_in_use(slots, texts):
        by_language = texts.get(slot.key, {})
        target = by_language.get(language)
        source = by_language.get(source_language)
        entries.append(
            TextEntry(
                key=slot.key,
                source=source.text if source else "",
                target=target.text if target else "",
                reviewed=target is not None and target.status == InstrumentText.Status.REVIEWED,
                note=slot.label,
            )
        )
    return TextDocument(
        wave=wave.slug,
        source_language=source_language,
        language=language,
        entries=tuple(entries),
    )


def document_render(document: TextDocument, file_format: str) -> bytes:
    if file_format == "xliff":
        return xliff.xliff_write(document)
    if file_format == "csv":
        return spreadsheet.csv_write(document)
    raise ValueError(f"unknown format {file_format!r}")


def document_file_name(document: TextDocument, file_format: str) -> str:
    return f"texts-{document.wave}-{document.language}.{EXTENSIONS[file_format]}"


def document_parse(data: bytes) -> TextDocument:
    """Read an XLIFF 2.0 or a CSV file (told apart by whether it starts with ``<``)."""
    start = data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    if start == b"<":
        return xliff.xliff_read(data)
    return spreadsheet.csv_read(data)
