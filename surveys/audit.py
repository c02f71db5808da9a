"""The audit trail: one function that every audited action calls."""

from typing import Any

from django.db import models

from surveys.models import AuditEntry


def audit_record(
    *,
    user,
    action: str,
    obj: models.Model | None = None,
    detail: dict[str, Any] | None = None,
) -> AuditEntry:
    """Write an audit row. ``detail`` holds counts, codes and ids, never names or e-mails."""
    return AuditEntry.objects.create(
        user=user if getattr(user, "is_authenticated", False) else None,
        action=action,
        object_type=obj._meta.label_lower if obj is not None else "",
        object_id=str(obj.pk) if obj is not None else "",
        detail=detail or {},
    )
