"""Importing experts from a CSV file: read, check every row (the preview), import all or none.

Rows are checked against the panels the importing user administers (``surveys.access``);
an e-mail is compared with the experts already on the panel through its blind index. The
audit row holds counts per panel, never a name or an e-mail.
"""

import csv
import io
import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction

from surveys.access import panel_ids_administered
from surveys.audit import audit_record
from surveys.identity_crypto import blind_index
from surveys.models import Expert, Panel

logger = logging.getLogger(__name__)

IMPORT_COLUMNS = ("name", "email", "panel", "language", "affiliation")
IMPORT_MAX_BYTES = 100 * 1024
IMPORT_MAX_ROWS = 2000
NAME_MAX_LENGTH = Expert._meta.get_field("name").max_length
EMAIL_MAX_LENGTH = Expert._meta.get_field("email").max_length
AFFILIATION_MAX_LENGTH = Expert._meta.get_field("affiliation").max_length


class ImportFileError(ValueError):
    """The file as a whole cannot be read: too large, not UTF-8 text, wrong header, empty."""


@dataclass(frozen=True)
class ExpertRow:
    """One data row of an expert CSV file; ``line`` is its line number in the file."""

    line: int
    name: str
    email: str
    panel: str
    language: str
    affiliation: str = ""
    field_count: int = len(IMPORT_COLUMNS)


@dataclass(frozen=True)
class RowCheck:
    row: ExpertRow
    errors: tuple[str, ...] = ()


@dataclass(frozen=True)
class ImportReport:
    """The checked rows of an import; ``imported`` counts the experts created (0 or all)."""

    rows: tuple[RowCheck, ...] = ()
    file_errors: tuple[str, ...] = ()
    imported: int = 0

    @property
    def is_valid(self) -> bool:
        return bool(self.rows) and not self.file_errors and not self.error_count

    @property
    def error_count(self) -> int:
        return sum(1 for check in self.rows if check.errors)


def experts_csv_size_check(*, size: int) -> None:
    """Raise ``ImportFileError`` for a file above ``IMPORT_MAX_BYTES`` (before reading it)."""
    if size > IMPORT_MAX_BYTES:
        raise ImportFileError(
            f"The file has {size / 1024:.0f} KB; at most {IMPORT_MAX_BYTES // 1024} KB "
            f"(about {IMPORT_MAX_ROWS} experts) can be imported at once. Split it into parts."
        )


def experts_csv_read(*, data: bytes) -> list[ExpertRow]:
    """Parse an expert CSV file (UTF-8 with or without BOM, comma- or semicolon-separated).

    The header must be exactly ``name,email,panel,language,affiliation``. Raises
    ``ImportFileError`` for a problem of the whole file; row problems are left to
    ``experts_import_check``, except a row with the wrong number of fields, which is kept with
    its fields empty so that the check reports it at its line.
    """
    experts_csv_size_check(size=len(data))
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ImportFileError(
            "The file is not UTF-8 text. Save it as “CSV UTF-8” and upload it again."
        ) from error
    if "\x00" in text:
        raise ImportFileError("The file is not a CSV text file.")
    first_line = text.split("\n", 1)[0]
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        header = next(reader, None)
        if header is None or not any(cell.strip() for cell in header):
            raise ImportFileError("The file is empty.")
        names = tuple(cell.strip().lower() for cell in header)
        if names != IMPORT_COLUMNS:
            raise ImportFileError(
                "The first line must be the header "
                f"“{','.join(IMPORT_COLUMNS)}”; it is “{','.join(names)}”."
            )
        rows = []
        for cells in reader:
            if not any(cell.strip() for cell in cells):
                continue  # blank lines are skipped
            if len(rows) >= IMPORT_MAX_ROWS:
                raise ImportFileError(f"At most {IMPORT_MAX_ROWS} experts per file.")
            if len(cells) != len(IMPORT_COLUMNS):
                rows.append(ExpertRow(reader.line_num, "", "", "", "", "", len(cells)))
                continue
            name, email, panel, language, affiliation = (cell.strip() for cell in cells)
            rows.append(
                ExpertRow(
                    line=reader.line_num,
                    name=name,
                    email=email,
                    panel=panel.upper(),
                    language=language.lower(),
                    affiliation=affiliation,
                )
            )
    except csv.Error as error:
        raise ImportFileError(f"The file is not valid CSV (line {reader.line_num}).") from error
    if not rows:
        raise ImportFileError("The file has a header but no expert.")
    return rows


def _row_errors(row: ExpertRow, *, panels: dict[str, Panel], languages: set[str]) -> list[str]:
    if row.field_count != len(IMPORT_COLUMNS):
        return [f"{row.field_count} fields instead of {len(IMPORT_COLUMNS)}."]
    errors = []
    if not row.name:
        errors.append("The name is missing.")
    elif len(row.name) > NAME_MAX_LENGTH:
        errors.append(f"The name is longer than {NAME_MAX_LENGTH} characters.")
    if not row.email:
        errors.append("The e-mail address is missing.")
    else:
        try:
            validate_email(row.email)
        except ValidationError:
            errors.append("The e-mail address is not valid.")
        if len(row.email) > EMAIL_MAX_LENGTH:
            errors.append(f"The e-mail address is longer than {EMAIL_MAX_LENGTH} characters.")
    if row.panel not in panels:
        known = ", ".join(sorted(panels)) or "none"
        errors.append(f"Unknown panel “{row.panel}”, or not one you administer (yours: {known}).")
    if row.language and row.language not in languages:
        errors.append(f"Unknown language “{row.language}” (one of {', '.join(sorted(languages))}).")
    if len(row.affiliation) > AFFILIATION_MAX_LENGTH:
        errors.append(f"The affiliation is longer than {AFFILIATION_MAX_LENGTH} characters.")
    return errors


def _panels_of(user) -> dict[str, Panel]:
    panel_ids = panel_ids_administered(user)
    panels = Panel.objects.all() if panel_ids is None else Panel.objects.filter(pk__in=panel_ids)
    return {panel.code: panel for panel in panels}


def experts_import_check(*, rows: Sequence[ExpertRow], user) -> ImportReport:
    """Check every row (the preview): fields, panel (one that ``user`` administers),
    language, duplicates in the file and against the experts already on the panel (e-mails
    compared case-insensitively, through the blind index).

    Three queries whatever the number of rows; writes nothing.
    """
    panels = _panels_of(user)
    languages = {code for code, _name in settings.LANGUAGES}
    indexes = [blind_index(row.email) if row.email else "" for row in rows]
    existing = set(
        Expert.objects.filter(email_blind_index__in=set(indexes) - {""}).values_list(
            "panel__code", "email_blind_index"
        )
    )
    first_line: dict[tuple[str, str], int] = {}
    checks = []
    for row, index in zip(rows, indexes, strict=True):
        errors = _row_errors(row, panels=panels, languages=languages)
        key = (row.panel, index)
        if row.email and row.panel in panels:
            if key in first_line:
                errors.append(f"The same e-mail and panel as line {first_line[key]}.")
            else:
                first_line[key] = row.line
            if key in existing:
                errors.append(f"This e-mail is already on panel {row.panel}.")
        checks.append(RowCheck(row=row, errors=tuple(errors)))
    return ImportReport(rows=tuple(checks))


def experts_import(*, rows: Sequence[ExpertRow], user) -> ImportReport:
    """Create the experts of the rows, all or none: any bad row and nothing is imported.

    The rows are checked again inside the transaction (the preview may be stale); a
    concurrent import of the same e-mail makes the unique constraint fail and rolls back.
    """
    try:
        with transaction.atomic():
            report = experts_import_check(rows=rows, user=user)
            if not report.is_valid:
                return report
            panels = _panels_of(user)
            Expert.objects.bulk_create(
                Expert(
                    panel=panels[row.panel],
                    name=row.name,
                    email=row.email,
                    language=row.language or panels[row.panel].language,
                    affiliation=row.affiliation,
                )
                for row in rows
            )
            per_panel = Counter(row.panel for row in rows)
            audit_record(
                user=user,
                action="expert.import",
                detail={"count": len(rows), "panels": dict(sorted(per_panel.items()))},
            )
    except IntegrityError:
        return replace(
            experts_import_check(rows=rows, user=user),
            file_errors=(
                "Another import added some of these experts meanwhile; nothing was "
                "imported. Check the file again.",
            ),
        )
    return replace(report, imported=len(rows))
