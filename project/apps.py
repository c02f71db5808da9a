"""The project's own app: its system checks (project.checks)."""

from django.apps import AppConfig


class ProjectConfig(AppConfig):
    name = "project"
    verbose_name = "Project"

    def ready(self) -> None:
        from project import checks  # noqa: F401 - registers the checks
