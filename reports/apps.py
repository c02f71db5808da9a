from django.apps import AppConfig


class ReportsConfig(AppConfig):
    """Report pages over stored aggregation results: the top of the one-way flow
    surveys → aggregation → reports."""

    name = "reports"
    verbose_name = "Reports"
