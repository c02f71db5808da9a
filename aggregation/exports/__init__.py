"""Exports of a wave's raw ratings, cells and comparisons for R, Stata, SPSS and Python.

One export is a *source* (a wave, a table, a snapshot of its rows, the variables and their
value labels) written in one format: CSV, XLSX, Parquet, JSON, Stata ``.dta`` or SPSS
``.sav``. Beside the data go a codebook and a metadata file; a bundle is a ZIP of all three.
Large exports run as jobs whose files wait under ``EXPORT_DIR`` behind a signed link.

- ``variables``: the variables of each table and the value labels of the categorical ones;
- ``sources``: tables, formats, and reading a source from the database (raw ratings as of now
  or pinned to an aggregation run, ``aggregation.snapshots``);
- ``disclosure``: submission dates coarsened and blanked in small groups (pure);
- ``formulas``: text in CSV and XLSX neutralised against formula injection (pure);
- ``writers``: codebook, metadata and every file format, the bundle and the sidecar files;
- ``audit``: the audit row of an export;
- ``jobs``: export jobs, their status, dispatch, body, signed links and purge.

Callers use the names re-exported here (``exports.export_source``); tests patch a name in the
module that looks it up (``aggregation.exports.jobs.export_job_dispatch``,
``aggregation.exports.sources.CHUNK_ROWS``).
"""

from aggregation.exports.audit import export_audit
from aggregation.exports.jobs import (
    JOB_STATUSES,
    LINK_SALT,
    export_job_create,
    export_job_dispatch,
    export_job_file,
    export_job_run,
    export_job_status,
    export_jobs_purge,
    export_link_sign,
    export_link_valid,
)
from aggregation.exports.sources import (
    CELL_VARIABLES,
    CHUNK_ROWS,
    COMPARISON_VARIABLES,
    FORMATS,
    MEDIA_TYPES,
    PERSPECTIVE_CODES,
    POOLED_PANEL,
    POOLED_PANEL_CODE,
    RATINGS_VARIABLES,
    RAW_RATING_COLUMNS,
    STREAMING_FORMATS,
    TABLES,
    VARIABLES,
    WAVE,
    XLSX_MAX_ROWS,
    ExportError,
    ExportSource,
    NoCompleteRunError,
    SnapshotChangedError,
    ValueLabel,
    Variable,
    export_source,
    run_of_wave,
    submission_dates_released,
    xlsx_check,
)
from aggregation.exports.writers import (
    GENERATOR,
    arrow_batches,
    codebook,
    codebook_csv,
    codebook_rows,
    data_file_name,
    export_write,
    iter_csv,
    iter_json,
    metadata,
    sidecar_paths,
    statistical_frame,
    write_bundle,
    write_csv,
    write_data,
    write_dta,
    write_parquet,
    write_sav,
    write_xlsx,
)

__all__ = [
    "CELL_VARIABLES",
    "CHUNK_ROWS",
    "COMPARISON_VARIABLES",
    "FORMATS",
    "GENERATOR",
    "JOB_STATUSES",
    "LINK_SALT",
    "MEDIA_TYPES",
    "PERSPECTIVE_CODES",
    "POOLED_PANEL",
    "POOLED_PANEL_CODE",
    "RATINGS_VARIABLES",
    "RAW_RATING_COLUMNS",
    "STREAMING_FORMATS",
    "TABLES",
    "VARIABLES",
    "WAVE",
    "XLSX_MAX_ROWS",
    "ExportError",
    "ExportSource",
    "NoCompleteRunError",
    "SnapshotChangedError",
    "ValueLabel",
    "Variable",
    "arrow_batches",
    "codebook",
    "codebook_csv",
    "codebook_rows",
    "data_file_name",
    "export_audit",
    "export_job_create",
    "export_job_dispatch",
    "export_job_file",
    "export_job_run",
    "export_job_status",
    "export_jobs_purge",
    "export_link_sign",
    "export_link_valid",
    "export_source",
    "export_write",
    "iter_csv",
    "iter_json",
    "metadata",
    "run_of_wave",
    "sidecar_paths",
    "statistical_frame",
    "submission_dates_released",
    "write_bundle",
    "write_csv",
    "write_data",
    "write_dta",
    "write_parquet",
    "write_sav",
    "write_xlsx",
    "xlsx_check",
]
