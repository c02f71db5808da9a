"""The Celery application; configuration comes from Django settings (``CELERY_*``).

A worker refuses to start with an unsafe production configuration (``project.checks``: it
sends the invitation e-mails), and its log handlers redact tokens and e-mail addresses like
Django's (``project.redaction``).
"""

import logging
import os

from celery import Celery
from celery.signals import after_setup_logger, after_setup_task_logger, worker_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings.base")

app = Celery("project")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_init.connect
def _refuse_unsafe_configuration(**kwargs) -> None:
    from django.core.exceptions import ImproperlyConfigured

    from project.checks import refuse_unsafe_configuration

    try:
        refuse_unsafe_configuration()
    except ImproperlyConfigured as error:  # Celery would log an exception and go on
        raise SystemExit(f"The worker refuses to start:\n{error}") from error


@after_setup_logger.connect
@after_setup_task_logger.connect
def _redact_worker_logs(logger: logging.Logger, **kwargs) -> None:
    from project.redaction import RedactingFilter

    for handler in logger.handlers:
        if not any(isinstance(existing, RedactingFilter) for existing in handler.filters):
            handler.addFilter(RedactingFilter())
