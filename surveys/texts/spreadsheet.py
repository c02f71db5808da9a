"""CSV files of a wave's texts, for translators who work in a spreadsheet.

UTF-8 with a byte-order mark (so that spreadsheet programs read it as UTF-8), one row per
text under the header ``key, context, <source language>, <language>, status``: the
translator fills the fourth column, ``<language>``; ``status`` is ``draft`` or ``reviewed``
(empty: draft). A text that a spreadsheet would run as a formula
is written with a leading apostrophe (``aggregation.exports.formulas``), which reading drops.
"""

import csv
import io

from django.conf import settings
from django.utils.translation import gettext as _

from aggregation.exports.formulas import FORMULA_PREFIX, FORMULA_TRIGGERS, formula_neutralise
from surveys.texts.documents import DocumentError, TextDocument, TextEntry

KEY, CONTEXT, STATUS = "key", "context", "status"
STATUSES = {"": False, "draft": False, "reviewed": True}


def csv_write(document: TextDocument) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([KEY, CONTEXT, document.source_language, document.language, STATUS])
    for entry in document.entries:
        status = "reviewed" if entry.reviewed else "draft" if entry.target else ""
        writer.writerow(
            [
                entry.key,
                formula_neutralise(entry.note),
                formula_neutralise(entry.source),
                formula_neutralise(entry.target),
                status,
            ]
        )
    return out.getvalue().encode("utf-8-sig")


def _cell(text: str) -> str:
    """A cell as written: without the apostrophe that guarded it against formulas."""
    if text.startswith(FORMULA_PREFIX) and text[1:2] and text[1] in FORMULA_TRIGGERS:
        return text[1:]
    return text


def _header_languages(header: list[str]) -> tuple[str, str]:
    languages = dict(settings.LANGUAGES)
    shape_ok = (
        len(header) == 5
        and [cell.strip().lower() for cell in (header[0], header[1], header[4])]
        == [KEY, CONTEXT, STATUS]
        and header[2].strip() in languages
        and header[3].strip() in languages
    )
    if not shape_ok:
        raise DocumentError(
            _(
                "Line 1: the header must be “key, context, <source language>, <language>, "
                "status” with language codes of this site (%(codes)s); it is “%(header)s”."
            )
            % {"codes": ", ".join(languages), "header": ", ".join(header)},
            code="csv_header",
        )
    return header[2].strip(), header[3].strip()


def csv_read(data: bytes) -> TextDocument:
    """The document of a CSV file; ``DocumentError`` when it is not one."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise DocumentError(
            _("The file is not UTF-8 text: save it as “CSV UTF-8”."), code="csv_encoding"
        ) from error
    try:
        rows = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as error:
        raise DocumentError(
            _("The file is not a readable CSV file: %(reason)s.") % {"reason": error},
            code="csv_malformed",
        ) from error
    if not rows:
        raise DocumentError(_("The file is empty."), code="csv_empty")
    source_language, language = _header_languages(rows[0])
    entries, problems = [], []
    for line, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != 5:
            problems.append(
                _("Line %(line)s: %(count)s cells instead of 5.")
                % {"line": line, "count": len(row)}
            )
            continue
        key, _context, source, target, status = row
        status = status.strip().lower()
        if status not in STATUSES:
            problems.append(
                _("Line %(line)s (%(key)s): status “%(status)s” is neither draft nor reviewed.")
                % {"line": line, "key": key.strip(), "status": status}
            )
            continue
        entries.append(
            TextEntry(
                key=key.strip(),
                source=_cell(source),
                target=_cell(target),
                reviewed=STATUSES[status],
                place=_("line %(line)s") % {"line": line},
            )
        )
    if problems:
        raise DocumentError(problems, code="csv_rows")
    return TextDocument(
        wave="", source_language=source_language, language=language, entries=tuple(entries)
    )
