from django.apps import AppConfig
from django.contrib.auth.signals import user_logged_in
from django.db.models.signals import post_migrate


class SurveysConfig(AppConfig):
    name = "surveys"
    verbose_name = "Surveys"

    def ready(self) -> None:
        from surveys.groups import groups_sync
        from surveys.second_factor import session_expiry_fix

        # After aggregation's permissions exist too: aggregation migrates after surveys.
        post_migrate.connect(groups_sync, dispatch_uid="surveys.groups_sync")
        user_logged_in.connect(session_expiry_fix, dispatch_uid="surveys.session_expiry_fix")
