"""Celery tasks of panel management: thin, ids in, idempotent (safe to acknowledge late).

The services re-check under a row lock whether the e-mail may still go out, so a task that
is delivered twice sends once. A failed send changes nothing and is retried.
"""

from smtplib import SMTPException

from celery import shared_task
from django.db import DatabaseError

from surveys import panel_admin

EMAIL_TASK = {
    "acks_late": True,
    "autoretry_for": (SMTPException, OSError, DatabaseError),
    "retry_backoff": 30,
    "retry_backoff_max": 30 * 60,
    "retry_jitter": True,
    "max_retries": 6,
    "soft_time_limit": 60,
    "time_limit": 90,
}


@shared_task(**EMAIL_TASK)
def send_invitation(invitation_id: int) -> bool:
    """E-mail an invitation with a fresh link; False when there was nothing to send."""
    return panel_admin.invitation_send(invitation_id=invitation_id)


@shared_task(**EMAIL_TASK)
def send_reminder(invitation_id: int) -> bool:
    """E-mail a reminder with a fresh link if the limits allow it now."""
    return panel_admin.reminder_send(invitation_id=invitation_id)
