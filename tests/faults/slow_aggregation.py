"""Test-only hook: make a worker's aggregation runs slow, so a test can kill it mid-run.

Imported only by a test worker started with ``AGGREGATION_TEST_DELAY_SECONDS`` (see
``project/settings/test.py``); never by production code. The delay sits in the engine's
first step, after the run was created as ``running`` and before its results are stored.
"""

import os
import time

from aggregation import engine

DELAY_SECONDS = float(os.environ.get("AGGREGATION_TEST_DELAY_SECONDS", "0"))
_cell_statistics_from_counts = engine.cell_statistics_from_counts


def _slow_cell_statistics_from_counts(*args, **kwargs):
    time.sleep(DELAY_SECONDS)
    return _cell_statistics_from_counts(*args, **kwargs)


engine.cell_statistics_from_counts = _slow_cell_statistics_from_counts
