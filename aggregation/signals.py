"""Signal receivers, connected in ``AggregationConfig.ready``."""

import logging

logger = logging.getLogger(__name__)


def dispatch_pending_on_worker_start(sender=None, **kwargs) -> None:
    """A starting worker means the broker is back, or a worker was replaced: redo runs
    whose worker died and publish what waited for the broker."""
    from aggregation.scheduling import aggregation_sweep

    sent = aggregation_sweep()
    if sent:
        logger.info("Dispatched %s pending aggregation request(s) on worker start.", sent)
