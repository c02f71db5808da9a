"""What an export holds: the tables and formats, and the *source* of one export (a wave, a
table, a snapshot of its rows) read from the database, with the variables of ``variables``.

Rows leave the database in chunks of ``CHUNK_ROWS`` through a streaming cursor, and only
integer ids travel: pseudonyms, codes and labels are joined from the small response and
instrument tables by position. Experts appear only as the pseudonym of their response; no
name, e-mail, affiliation, invitation or token is ever selected here.

Raw ratings come ordered by pseudonym (random, see ``surveys.services.pseudonym_new``), then
item, never in the order they were stored: that order follows the order experts were
invited or answered, and a list of the panel in that order would give their names back.
Submission dates are coarsened and blanked in small groups (``disclosure``).
"""

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from itertools import islice

import numpy as np
import pandas as pd
from django.conf import settings
from django.db import connection
from django.utils import timezone

from aggregation.engine import ESTIMATOR_NAME
from aggregation.estimators import ESTIMATORS
from aggregation.exports.disclosure import (
    DateDisclosure,
    SmallGroupError,
    submission_dates_release,
)
from aggregation.exports.variables import (  # noqa: F401 - re-exported for callers
    CELL_VARIABLES,
    COMPARISON_VARIABLES,
    PERSPECTIVE_CODES,
    POOLED_PANEL,
    POOLED_PANEL_CODE,
    RATINGS_VARIABLES,
    SOURCE_CODES,
    SUBMITTED_ON_LABELS,
    VARIABLES,
    WAVE,
    ValueLabel,
    Variable,
    label_sets_load,
)
from aggregation.models import AggregationRun, CellResult, ComparisonResult, EstimatorResult
from aggregation.selectors import run_latest_complete
from aggregation.snapshots import SnapshotError, run_snapshot
from surveys.models import (
    DelphiRound,
    Item,
    Panel,
    Rating,
    Response,
    Wave,
)

TABLES = ("ratings", "cells", "comparisons")
FORMATS = ("csv", "xlsx", "parquet", "json", "dta", "sav")
STREAMING_FORMATS = ("csv", "json")
MEDIA_TYPES = {
    "csv": "text/csv",
    "json": "application/json",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "parquet": "application/vnd.apache.parquet",
    "dta": "application/x-stata-dta",
    "sav": "application/x-spss-sav",
    "zip": "application/zip",
}
CHUNK_ROWS = 50_000
XLSX_MAX_ROWS = 1_048_575


class ExportError(Exception):
    """An export that cannot be made as asked (unknown table or format, too many rows)."""


class NoCompleteRunError(ExportError):
    """Results of a wave that has no complete aggregation run yet, or a run asked for by id
    that is not a complete run of the wave."""


class SnapshotChangedError(ExportError):
    """Raw ratings pinned to a run whose ratings have changed since (``aggregation.snapshots``)."""


def xlsx_check(source: "ExportSource") -> None:
    """XLSX sheets end at 1,048,576 rows (one is the header)."""
    if source.rows > XLSX_MAX_ROWS:
        raise ExportError(
            f"An Excel sheet holds at most {XLSX_MAX_ROWS:,} rows; this table has {source.rows:,}. "
            "Use CSV or Parquet."
        )


# Sources -------------------------------------------------------------------------------------


@dataclass
class ExportSource:
    """A table of one wave, snapshotted when the source was made, ready to be written.

    ``chunks()`` yields frames with the columns of ``variables``; categorical columns hold
    integer codes (see ``label_sets``). ``rows`` is the row count of the snapshot. Raw
    ratings carry ``disclosure``: what was done to their submission dates.
    """

    wave: Wave
    table: str
    run: AggregationRun | None
    variables: list[Variable]
    label_sets: dict[str, list[ValueLabel]]
    rows: int
    generated_at: datetime
    chunks: Callable[[], Iterator[pd.DataFrame]] = field(repr=False)
    disclosure: DateDisclosure | None = None
    pinned: bool = False  # made for the run asked for, not the newest
    estimator: str = ESTIMATOR_NAME
    estimator_result: EstimatorResult | None = None
    """The run's result set of ``estimator`` (None for raw ratings or an older run)."""

    @property
    def columns(self) -> list[str]:
        return [variable.name for variable in self.variables]

    def labels_of(self, variable: Variable) -> dict[int, str]:
        return {value.code: value.label for value in self.label_sets[variable.labels]}

    def frame(self) -> pd.DataFrame:
        """The whole table as one coded frame (for the writers that need it whole)."""
        frames = list(self.chunks())
        if not frames:
            return _empty_frame(self.variables)
        return pd.concat(frames, ignore_index=True)

    def text_chunks(self) -> Iterator[pd.DataFrame]:
        """Chunks with categorical codes replaced by their text ("MOW", "protectee")."""
        for chunk in self.chunks():
            yield _as_text(chunk, self)


def _empty_frame(variables: list[Variable]) -> pd.DataFrame:
    dtypes = {
        "string": object,
        "integer": "Int64",
        "float": "float64",
        "boolean": "bool",
        "date": object,
        "category": "int64",
    }
    return pd.DataFrame({v.name: pd.Series(dtype=dtypes[v.kind]) for v in variables})


def _as_text(chunk: pd.DataFrame, source: ExportSource) -> pd.DataFrame:
    chunk = chunk.copy()
    for variable in source.variables:
        if variable.kind == "category":
            chunk[variable.name] = (
                chunk[variable.name].map(source.labels_of(variable)).astype(object)
            )
    return chunk


def _batches(rows: Iterable[tuple], size: int) -> Iterator[list[tuple]]:
    rows = iter(rows)
    while batch := list(islice(rows, size)):
        yield batch


def _submitted_ratings(wave: Wave, snapshot: datetime | None, max_id: int):
    ratings = Rating.objects.filter(
        response__wave=wave, response__status=Response.Status.SUBMITTED, pk__lte=max_id
    )
    return ratings if snapshot is None else ratings.filter(response__submitted_at__lte=snapshot)


RAW_RATING_COLUMNS = ["response", "item", "value", "cannot_judge", "confidence"]


def _raw_ratings(wave: Wave, snapshot: datetime | None, max_id: int) -> Iterator[pd.DataFrame]:
    """Frames of (response, item, value, cannot_judge, confidence) ordered by the response's
    pseudonym, then item: never in the order the ratings (or experts) were stored.

    PostgreSQL streams from Django's server-side cursor (psycopg gives native values, so no
    per-row conversion); SQLite from a plain cursor, bypassing Django's per-row converters.
    Either way the rows come ``CHUNK_ROWS`` at a time and memory stays flat. (ADBC's Arrow
    reader was tried: it holds the whole result in memory before the first batch.)
    """
    rows = (
        _submitted_ratings(wave, snapshot, max_id)
        .order_by("response__pseudonym", "item_id")
        .values_list("response_id", "item_id", "value", "cannot_judge", "confidence")
    )
    if connection.vendor != "sqlite":
        for batch in _batches(rows.iterator(chunk_size=CHUNK_ROWS), CHUNK_ROWS):
            yield pd.DataFrame.from_records(batch, columns=RAW_RATING_COLUMNS)
        return
    sql, params = rows.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        while batch := cursor.fetchmany(CHUNK_ROWS):
            yield pd.DataFrame.from_records(batch, columns=RAW_RATING_COLUMNS)


def _nullable_integers(column: pd.Series) -> pd.arrays.IntegerArray:
    if column.dtype == object:
        return pd.array(column.to_numpy(dtype=object), dtype="Int64")
    return pd.array(pd.to_numeric(column), dtype="Int64")


RESPONSE_COLUMNS = ["id", "wave", "pseudonym", "panel", "source", "submitted_on"]


def _submitted_responses(wave_ids: Iterable[int], snapshot: datetime | None) -> pd.DataFrame:
    """One row per submitted response of the waves: id, wave, pseudonym, panel, source code
    and the submission day (UTC). Never the invitation or anything of the expert."""
    queryset = Response.objects.filter(wave_id__in=list(wave_ids), status=Response.Status.SUBMITTED)
    if snapshot is not None:
        queryset = queryset.filter(submitted_at__lte=snapshot)
    return pd.DataFrame.from_records(
        [
            (pk, wave_id, pseudonym, panel_id, SOURCE_CODES[source], moment.astimezone(UTC).date())
            for pk, wave_id, pseudonym, panel_id, source, moment in queryset.values_list(
                "pk", "wave_id", "pseudonym", "panel_id", "source", "submitted_at"
            )
        ],
        columns=RESPONSE_COLUMNS,
    ).set_index("id")


def _dates_release(responses: pd.DataFrame) -> tuple[pd.Series, DateDisclosure]:
    """The submission dates of ``responses`` as the settings allow them out (``disclosure``)."""
    return submission_dates_release(
        responses,
        precision=settings.EXPORT_DATE_PRECISION,
        min_group_size=settings.EXPORT_MIN_GROUP_SIZE,
        action=settings.EXPORT_SMALL_GROUPS,
        panel_names=dict(Panel.objects.values_list("pk", "code")),
    )


def submission_dates_released(*, wave_ids: Iterable[int]) -> dict[int, date | None]:
    """Response id → the submission date the API may show (coarsened; None in small groups).

    Raises ``ExportError`` where the settings refuse small groups and the waves have one.
    """
    responses = _submitted_responses(wave_ids, None)
    try:
        released, _disclosure = _dates_release(responses)
    except SmallGroupError as error:
        raise ExportError(str(error)) from error
    return released.to_dict()


def _ratings_variables(disclosure: DateDisclosure) -> list[Variable]:
    note = (
        f"Coarsened to the {disclosure.precision} (EXPORT_DATE_PRECISION). Empty where fewer "
        f"than k = {disclosure.min_group_size} submitted responses of the same wave and panel "
        "share the coarsened date, and where blanking only those would leave fewer than k "
        "blank (complementary suppression); the metadata counts the blanked responses."
    )
    if disclosure.precision == "none":
        note = "Not exported: EXPORT_DATE_PRECISION is none."
    return [
        replace(variable, label=SUBMITTED_ON_LABELS[disclosure.precision], note=note)
        if variable.name == "submitted_on"
        else variable
        for variable in RATINGS_VARIABLES
    ]


def _ratings_source(
    wave: Wave, generated_at: datetime, pinned: AggregationRun | None
) -> ExportSource:
    """Raw ratings as of now; or, ``pinned`` to a run, exactly the ratings the run counted:
    its responses only, checked against its fingerprint (``aggregation.snapshots``)."""
    max_id = Rating.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    if pinned is None:
        responses = _submitted_responses([wave.pk], generated_at)
        rows = _submitted_ratings(wave, generated_at, max_id).count()
        snapshot_at = generated_at
    else:
        try:
            snapshot = run_snapshot(pinned)
        except SnapshotError as error:
            raise SnapshotChangedError(str(error)) from error
        responses = _submitted_responses([wave.pk], None)
        responses = responses[responses.index.isin(snapshot.response_ids)]
        rows, snapshot_at = snapshot.n_ratings, None
    try:
        released, disclosure = _dates_release(responses)
    except SmallGroupError as error:
        raise ExportError(str(error)) from error
    responses["submitted_on"] = released

    # An ordinary wave is its own first round (surveys.delphi_selectors.wave_round).
    number = DelphiRound.objects.filter(wave=wave).values_list("number", flat=True).first() or 1

    def chunks() -> Iterator[pd.DataFrame]:
        items = pd.DataFrame.from_records(
            [
                (pk, holder, subject, PERSPECTIVE_CODES[perspective], role)
                for pk, holder, subject, perspective, role in Item.objects.filter(
                    block__wave=wave
                ).values_list(
                    "pk", "block__holder_id", "block__subject_id", "block__perspective", "role_id"
                )
            ],
            columns=["id", "holder", "subject", "perspective", "role"],
        ).set_index("id")
        # Pinned, the query reads the wave's submitted ratings and the ones of responses
        # outside the run's snapshot are dropped below (unknown response).
        for raw in _raw_ratings(wave, snapshot_at, max_id):
            by_response = responses.index.get_indexer(raw["response"])
            by_item = items.index.get_indexer(raw["item"])
            known = (by_response >= 0) & (by_item >= 0)
            if not known.all():  # outside the snapshot: never guess
                raw, by_response, by_item = raw[known], by_response[known], by_item[known]
            response_rows = responses.iloc[by_response]
            item_rows = items.iloc[by_item]
            yield pd.DataFrame(
                {
                    "wave": wave.slug,
                    "pseudonym": response_rows["pseudonym"].to_numpy(dtype=object),
                    "panel": response_rows["panel"].to_numpy(dtype=np.int64),
                    "holder": item_rows["holder"].to_numpy(dtype=np.int64),
                    "subject": item_rows["subject"].to_numpy(dtype=np.int64),
                    "perspective": item_rows["perspective"].to_numpy(dtype=np.int64),
                    "role": item_rows["role"].to_numpy(dtype=np.int64),
                    "value": _nullable_integers(raw["value"]),
                    "cannot_judge": raw["cannot_judge"].to_numpy(dtype=bool),
                    "confidence": _nullable_integers(raw["confidence"]),
                    "submitted_on": response_rows["submitted_on"].to_numpy(dtype=object),
                    "source": response_rows["source"].to_numpy(dtype=np.int64),
                    "round": pd.array([number] * len(raw), dtype="Int64"),
                }
            )

    return ExportSource(
        wave=wave,
        table="ratings",
        run=pinned or run_latest_complete(wave=wave),
        variables=_ratings_variables(disclosure),
        label_sets=label_sets_load(pooled_panel=False),
        rows=rows,
        generated_at=generated_at,
        chunks=chunks,
        disclosure=disclosure,
        pinned=pinned is not None,
    )


def _result_source(
    wave: Wave,
    table: str,
    generated_at: datetime,
    pinned: AggregationRun | None,
    estimator: str = ESTIMATOR_NAME,
) -> ExportSource:
    run = pinned or run_latest_complete(wave=wave)
    if run is None:
        raise NoCompleteRunError(
            "This wave has no complete aggregation run yet; aggregate it first."
        )
    variables = VARIABLES[table]
    model = CellResult if table == "cells" else ComparisonResult
    queryset = model.objects.filter(run=run, estimator=estimator)
    # Database columns in the order of the variables, categorical ones as ids.
    selected = [
        {
            "panel": "panel_id",
            "holder": "holder_id",
            "subject": "subject_id",
            "role": "role_id",
        }.get(variable.name, variable.name)
        for variable in variables[1:]
    ]

    def chunks() -> Iterator[pd.DataFrame]:
        rows = queryset.order_by("pk").values_list(*selected).iterator(chunk_size=CHUNK_ROWS)
        for batch in _batches(rows, CHUNK_ROWS):
            frame = pd.DataFrame.from_records(batch, columns=[v.name for v in variables[1:]])
            frame.insert(0, "wave", wave.slug)
            for variable in variables:
                column = frame[variable.name]
                if variable.name == "panel":
                    frame["panel"] = column.fillna(POOLED_PANEL_CODE).astype(np.int64)
                elif variable.name == "perspective":
                    frame["perspective"] = column.map(PERSPECTIVE_CODES).astype(np.int64)
                elif variable.kind == "category":
                    frame[variable.name] = column.astype(np.int64)
                elif variable.kind == "integer":
                    frame[variable.name] = column.astype("Int64")
                elif variable.kind == "float":
                    frame[variable.name] = pd.to_numeric(column).astype("float64")
                elif variable.kind == "string":
                    frame[variable.name] = column.fillna("").astype(object)
                elif variable.kind == "boolean":
                    frame[variable.name] = column.astype(bool)
            yield frame

    return ExportSource(
        wave=wave,
        table=table,
        run=run,
        variables=variables,
        label_sets=label_sets_load(pooled_panel=table == "cells"),
        rows=queryset.count(),
        generated_at=generated_at,
        chunks=chunks,
        pinned=pinned is not None,
        estimator=estimator,
        estimator_result=EstimatorResult.objects.filter(run=run, estimator=estimator).first(),
    )


def run_of_wave(*, wave: Wave, run_id: int) -> AggregationRun:
    """The complete aggregation run ``run_id`` of ``wave``, or ``NoCompleteRunError``."""
    run = AggregationRun.objects.filter(
        pk=run_id, wave=wave, status=AggregationRun.Status.COMPLETE
    ).first()
    if run is None:
        raise NoCompleteRunError(f"Wave {wave.slug} has no complete aggregation run {run_id}.")
    return run


def export_source(
    *, wave: Wave, table: str, run_id: int | None = None, estimator: str = ESTIMATOR_NAME
) -> ExportSource:
    """The rows of ``table`` for ``wave``: raw ratings of submitted responses as of now, or
    the cells or comparisons of one estimator (default the plain means) in the wave's newest
    complete aggregation run. With ``run_id``, pinned to that complete run of the wave: its
    results, and exactly the ratings it counted (``SnapshotChangedError`` when they have
    changed since)."""
    if table not in TABLES:
        raise ExportError(f"Unknown table {table!r}; choose one of {', '.join(TABLES)}.")
    if estimator not in ESTIMATORS:
        raise ExportError(
            f"Unknown estimator {estimator!r}; choose one of {', '.join(ESTIMATORS)}."
        )
    generated_at = timezone.now()
    pinned = None if run_id is None else run_of_wave(wave=wave, run_id=run_id)
    if table == "ratings":
        return _ratings_source(wave, generated_at, pinned)
    return _result_source(wave, table, generated_at, pinned, estimator)
