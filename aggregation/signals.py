"""Signal receivers, connected in ``AggregationConfig.ready``."""

import logging

logger = logging.getLogger(__name__)


def dispatch_pending_on_worker_start(sender=None, **kwargs) -> None:
    """A starting worker means the broker is back: publish what waited for it."""
    from aggregation.scheduling import aggregation_sweep

    sent = aggregation_sweep()
    if sent:
        logger.info("Dispatched %s pending aggregation request(s) on worker start.", sent)
