from django.apps import AppConfig


class AggregationConfig(AppConfig):
    name = "aggregation"
    verbose_name = "Aggregation"

    def ready(self) -> None:
        from celery.signals import worker_ready

        from aggregation.signals import dispatch_pending_on_worker_start

        worker_ready.connect(dispatch_pending_on_worker_start, weak=False)
