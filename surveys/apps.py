from django.apps import AppConfig
from django.db.models.signals import post_migrate


class SurveysConfig(AppConfig):
    name = "surveys"
    verbose_name = "Surveys"

    def ready(self) -> None:
        from surveys.groups import groups_sync

        # After aggregation's permissions exist too: aggregation migrates after surveys.
        post_migrate.connect(groups_sync, dispatch_uid="surveys.groups_sync")
