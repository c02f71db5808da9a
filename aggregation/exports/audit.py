"""The audit row of an export, written for direct downloads, the command and jobs alike."""

from aggregation.exports.sources import ExportSource
from surveys.audit import audit_record


def export_audit(*, user, source: ExportSource, file_format: str, action: str, **extra) -> None:
    """The audit row of an export: table, format, wave and row count, never contents."""
    audit_record(
        user=user,
        action=action,
        obj=source.wave,
        detail={
            "table": source.table,
            "format": file_format,
            "wave": source.wave.slug,
            "rows": source.rows,
            **extra,
        },
    )
