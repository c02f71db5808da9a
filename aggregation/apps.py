from django.apps import AppConfig


class AggregationConfig(AppConfig):
    name = "aggregation"
    verbose_name = "Aggregation"

    def ready(self) -> None:
        from celery.signals import worker_ready
        from django.db.models.signals import post_migrate

        from aggregation.shipped_questions import research_questions_seed
        from aggregation.signals import dispatch_pending_on_worker_start

        worker_ready.connect(dispatch_pending_on_worker_start, weak=False)
        # The research questions exist on a fresh install and after a flush.
        post_migrate.connect(
            research_questions_seed, sender=self, dispatch_uid="aggregation.research_questions"
        )
