"""Importing ratings collected outside the web form (paper, e-mail, another tool).

The file is a UTF-8 CSV with exactly the columns of ``IMPORT_COLUMNS``: panel and actors by
code, perspective by name, role by code; an empty value only with ``cannot_judge`` true;
confidence optional. Each distinct ``expert_ref`` becomes one new pseudonymous, submitted
response (``source = import``) in its panel.

All or nothing: every row is checked first, and a single bad row stores nothing; the report
then lists every bad row with its line number and reason. The reasons never quote a cell of
the file: ``expert_ref`` may be a person's name, and in a shifted row any column may hold
one. ``expert_ref`` values live only in memory during the import and are stored nowhere,
not even in the audit trail, which records counts.

Only an open wave takes imports: a closed wave's data is final (and its responses are no
longer linked to anyone), a draft wave has nothing to answer yet. The status is checked
again, under a lock on the wave, in the transaction that stores the rows.
"""

import csv
import io
from dataclasses import dataclass, field
from typing import IO

from django.db import transaction
from django.utils import timezone

from aggregation.scheduling import aggregation_schedule
from surveys.access import panels_scope
from surveys.audit import audit_record
from surveys.models import (
    CONFIDENCE_MAX,
    CONFIDENCE_MIN,
    Actor,
    Item,
    Panel,
    Perspective,
    Rating,
    Response,
    Role,
    Wave,
)
from surveys.services import pseudonym_new

IMPORT_COLUMNS = (
    "expert_ref",
    "panel",
    "holder",
    "subject",
    "perspective",
    "role",
    "value",
    "cannot_judge",
    "confidence",
)
TRUE_WORDS = {"true", "1", "yes", "y", "t"}
FALSE_WORDS = {"false", "0", "no", "n", "f", ""}
MAX_ROWS = 500_000
IMPORTABLE_STATUSES = (Wave.Status.OPEN,)


@dataclass(frozen=True)
class RowError:
    """One problem of the file: a line number (the header is line 1) and a reason."""

    line: int
    reason: str
    column: str = ""

    def __str__(self) -> str:
        where = f"line {self.line}" if self.line else "file"
        column = f", column {self.column}" if self.column else ""
        return f"{where}{column}: {self.reason}"


@dataclass
class ImportReport:
    """What an import did, or why it did nothing. Counts only; no value of the file."""

    wave: str
    rows: int = 0
    responses_created: int = 0
    ratings_created: int = 0
    dry_run: bool = False
    errors: list[RowError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def as_dict(self) -> dict:
        return {
            "wave": self.wave,
            "ok": self.ok,
            "dry_run": self.dry_run,
            "rows": self.rows,
            "responses_created": self.responses_created,
            "ratings_created": self.ratings_created,
            "errors": [
                {"line": error.line, "column": error.column, "reason": error.reason}
                for error in self.errors
            ],
        }


@dataclass(frozen=True)
class _Row:
    line: int
    expert_ref: str
    panel_id: int
    item_id: int
    value: int | None
    cannot_judge: bool
    confidence: int | None


@dataclass(frozen=True)
class _Instrument:
    """The wave's items by (holder, subject, perspective, role) code, and who answers them."""

    panels: dict[str, int]
    actors: set[str]
    roles: set[str]
    items: dict[tuple[str, str, str, str], tuple[int, int, int]]  # → item id, scale min, max
    item_panels: dict[int, set[int]]

    @classmethod
    def load(cls, wave: Wave, *, user) -> "_Instrument":
        """The wave's instrument; ``panels`` holds only the panels ``user`` administers, so
        a row of another panel is refused like an unknown one."""
        items = {}
        item_panels: dict[int, set[int]] = {}
        rows = Item.objects.filter(block__wave=wave).values_list(
            "pk",
            "block__holder__code",
            "block__subject__code",
            "block__perspective",
            "role__code",
            "block__scale__min_value",
            "block__scale__max_value",
        )
        for pk, holder, subject, perspective, role, low, high in rows:
            items[(holder, subject, perspective, role)] = (pk, low, high)
        for pk, panel_id in Item.objects.filter(block__wave=wave).values_list(
            "pk", "block__panels"
        ):
            if panel_id is not None:
                item_panels.setdefault(pk, set()).add(panel_id)
        return cls(
            panels=dict(
                panels_scope(Panel.objects.all(), user=user, panel_field="pk").values_list(
                    "code", "pk"
                )
            ),
            actors=set(Actor.objects.values_list("code", flat=True)),
            roles=set(Role.objects.values_list("code", flat=True)),
            items=items,
            item_panels=item_panels,
        )


def _decode(csv_file: IO) -> str:
    content = csv_file.read()
    if isinstance(content, str):
        return content.removeprefix("\ufeff")
    return content.decode("utf-8-sig")


def _integer(text: str) -> int | None:
    try:
        return int(text)
    except ValueError:
        return None


def _check_row(
    line: int, cells: dict[str, str], instrument: _Instrument
) -> tuple[_Row | None, list[RowError]]:
    """One data row: either a parsed row or the reasons it is bad (never its values)."""
    errors = []

    def bad(column: str, reason: str) -> None:
        errors.append(RowError(line=line, column=column, reason=reason))

    expert_ref = cells["expert_ref"].strip()
    if not expert_ref:
        bad("expert_ref", "empty; every row needs the reference of its expert")
    panel_id = instrument.panels.get(cells["panel"].strip())
    if panel_id is None:
        bad("panel", "no panel has this code, or it is not one you administer")
    codes = {}
    for column in ("holder", "subject"):
        codes[column] = cells[column].strip()
        if codes[column] not in instrument.actors:
            bad(column, "no actor has this code")
    perspective = cells["perspective"].strip().lower()
    if perspective not in Perspective.values:
        bad("perspective", f"must be one of {', '.join(Perspective.values)}")
    role = cells["role"].strip()
    if role not in instrument.roles:
        bad("role", "no role has this code")

    item = None
    if not errors:
        item = instrument.items.get((codes["holder"], codes["subject"], perspective, role))
        if item is None:
            bad("", "this wave asks no such item (holder, subject, perspective, role)")
        elif panel_id not in instrument.item_panels.get(item[0], set()):
            bad("panel", "this panel is not asked this item in this wave")

    judge_text = cells["cannot_judge"].strip().lower()
    cannot_judge = judge_text in TRUE_WORDS
    if not cannot_judge and judge_text not in FALSE_WORDS:
        bad("cannot_judge", "must be true or false (also 1/0, yes/no), or empty for false")
    value_text = cells["value"].strip()
    value = None
    if value_text:
        value = _integer(value_text)
        if value is None:
            bad("value", "not a whole number")
        elif cannot_judge:
            bad("value", "give a value or cannot_judge true, not both")
        elif item is not None and not item[1] <= value <= item[2]:
            bad("value", f"outside the item's scale {item[1]}–{item[2]}")
    elif not cannot_judge:
        bad("value", "empty; an empty value needs cannot_judge true")
    confidence_text = cells["confidence"].strip()
    confidence = None
    if confidence_text:
        confidence = _integer(confidence_text)
        if confidence is None or not CONFIDENCE_MIN <= confidence <= CONFIDENCE_MAX:
            bad("confidence", f"must be a whole number from {CONFIDENCE_MIN} to {CONFIDENCE_MAX}")
    if errors:
        return None, errors
    return (
        _Row(
            line=line,
            expert_ref=expert_ref,
            panel_id=panel_id,
            item_id=item[0],
            value=value,
            cannot_judge=cannot_judge,
            confidence=confidence,
        ),
        [],
    )


def _check_file(text: str, instrument: _Instrument) -> tuple[list[_Row], list[RowError], int]:
    """Every row of the file; returns the good rows, all errors and the number of rows."""
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        return [], [RowError(line=0, reason="the file is empty")], 0
    except csv.Error:
        return [], [RowError(line=1, reason="the header is not valid CSV")], 0
    names = [name.strip().lower() for name in header]
    # Report missing columns by name but never echo an unexpected header cell: a file
    # without a header row has a data row, perhaps with a name in it, in its place.
    missing = [column for column in IMPORT_COLUMNS if column not in names]
    unexpected = [
        str(position) for position, name in enumerate(names, start=1) if name not in IMPORT_COLUMNS
    ]
    duplicated = sorted(
        {name for name in names if name in IMPORT_COLUMNS and names.count(name) > 1}
    )
    header_errors = []
    if missing:
        header_errors.append(RowError(line=1, reason=f"missing columns: {', '.join(missing)}"))
    if unexpected:
        header_errors.append(
            RowError(line=1, reason=f"unexpected columns at positions {', '.join(unexpected)}")
        )
    if duplicated:
        header_errors.append(RowError(line=1, reason=f"repeated columns: {', '.join(duplicated)}"))
    if header_errors:
        return [], header_errors, 0

    rows: list[_Row] = []
    errors: list[RowError] = []
    seen_cells: dict[tuple[str, int], int] = {}
    expert_panel: dict[str, tuple[int, int]] = {}
    count = 0
    while True:
        try:
            record = next(reader)
        except StopIteration:
            break
        except csv.Error:
            errors.append(RowError(line=reader.line_num, reason="not valid CSV (quotes?)"))
            break
        line = reader.line_num
        if not any(cell.strip() for cell in record):
            continue  # blank lines, e.g. at the end of a file saved by a spreadsheet
        count += 1
        if count > MAX_ROWS:
            errors.append(RowError(line=line, reason=f"more than {MAX_ROWS:,} rows; split it"))
            break
        if len(record) != len(names):
            errors.append(
                RowError(line=line, reason=f"{len(record)} cells where the header has {len(names)}")
            )
            continue
        row, row_errors = _check_row(line, dict(zip(names, record, strict=True)), instrument)
        if row_errors:
            errors.extend(row_errors)
            continue
        first = expert_panel.setdefault(row.expert_ref, (row.panel_id, line))
        if first[0] != row.panel_id:
            errors.append(
                RowError(
                    line=line,
                    column="panel",
                    reason=f"this expert_ref is in another panel on line {first[1]}",
                )
            )
            continue
        earlier = seen_cells.setdefault((row.expert_ref, row.item_id), line)
        if earlier != line:
            errors.append(
                RowError(
                    line=line,
                    reason=f"this expert_ref rated this item already on line {earlier}",
                )
            )
            continue
        rows.append(row)
    if count == 0 and not errors:
        errors.append(RowError(line=0, reason="the file has a header but no rows"))
    return rows, errors, count


def _pseudonyms(count: int) -> list[str]:
    """``count`` fresh pseudonyms that no response has yet."""
    chosen: set[str] = set()
    while len(chosen) < count:
        candidates = {pseudonym_new() for _ in range(count - len(chosen))} - chosen
        taken = set(
            Response.objects.filter(pseudonym__in=candidates).values_list("pseudonym", flat=True)
        )
        chosen |= candidates - taken
    return list(chosen)


def ratings_import(*, wave: Wave, csv_file: IO, user, dry_run: bool = False) -> ImportReport:
    """Check every row of ``csv_file``, then store all of it in one transaction, or nothing.

    Returns a report: with errors (every bad row, its line and reason) nothing was stored.
    Stored ratings schedule the wave's aggregation like a submission from the web form.
    """
    report = ImportReport(wave=wave.slug, dry_run=dry_run)
    if wave.status not in IMPORTABLE_STATUSES:
        report.errors.append(RowError(line=0, reason=_not_open_reason(wave.status)))
        return report
    try:
        text = _decode(csv_file)
    except UnicodeDecodeError:
        report.errors.append(RowError(line=0, reason="the file is not UTF-8 text"))
        return report
    rows, errors, count = _check_file(text, _Instrument.load(wave, user=user))
    report.rows = count
    if errors:
        report.errors = errors
        return report
    experts = list(dict.fromkeys(row.expert_ref for row in rows))
    report.responses_created = len(experts)
    report.ratings_created = len(rows)
    if dry_run:
        return report
    _store(wave=wave, rows=rows, experts=experts, user=user, report=report)
    return report


def _not_open_reason(status: str) -> str:
    return (
        f"the wave is {status}: ratings can be imported into an open wave only; "
        "nothing was imported"
    )


@transaction.atomic
def _store(*, wave: Wave, rows: list[_Row], experts: list[str], user, report: ImportReport) -> None:
    status = Wave.objects.select_for_update().filter(pk=wave.pk).values_list("status", flat=True)
    status = status.first()
    if status not in IMPORTABLE_STATUSES:  # closed while the file was being checked
        report.errors.append(RowError(line=0, reason=_not_open_reason(status or "gone")))
        report.responses_created = report.ratings_created = 0
        return
    now = timezone.now()
    panel_of = {}
    for row in rows:
        panel_of.setdefault(row.expert_ref, row.panel_id)
    # The expert_ref → response mapping lives in this function only and is never stored.
    responses = {
        expert_ref: Response(
            wave=wave,
            panel_id=panel_of[expert_ref],
            pseudonym=pseudonym,
            status=Response.Status.SUBMITTED,
            source=Response.Source.IMPORT,
            submitted_at=now,
        )
        for expert_ref, pseudonym in zip(experts, _pseudonyms(len(experts)), strict=True)
    }
    Response.objects.bulk_create(responses.values(), batch_size=1000)
    if any(response.pk is None for response in responses.values()):  # very old SQLite
        by_pseudonym = dict(
            Response.objects.filter(
                pseudonym__in=[response.pseudonym for response in responses.values()]
            ).values_list("pseudonym", "pk")
        )
        for response in responses.values():
            response.pk = by_pseudonym[response.pseudonym]
    Rating.objects.bulk_create(
        (
            Rating(
                response_id=responses[row.expert_ref].pk,
                item_id=row.item_id,
                value=row.value,
                cannot_judge=row.cannot_judge,
                confidence=row.confidence,
            )
            for row in rows
        ),
        batch_size=2000,
    )
    aggregation_schedule(wave_id=wave.pk)
    audit_record(
        user=user,
        action="ratings.import",
        obj=wave,
        detail={
            "wave": wave.slug,
            "rows": report.rows,
            "responses": report.responses_created,
            "ratings": report.ratings_created,
        },
    )
