"""``python -m tests.e2e.shifted_celery -A tasks.app worker ...``: the real ``celery``
command, with the engine's clock running ``JOINTFLOW_TEST_CLOCK_SHIFT`` seconds ahead of
the real one (still moving, unlike ``JOINTFLOW_NOW``). The notification tests run the
worker in Seoul office hours whatever the time of day: quiet hours would hold the mail
until 08:00. Nothing else is changed; retries, back-off and staleness run on real time.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import workflow.bootstrap as composition
from config.settings import Settings

SHIFT = timedelta(seconds=float(os.environ.get("JOINTFLOW_TEST_CLOCK_SHIFT", "0")))
_make_clock = composition.make_clock


def shifted_clock(settings: Settings) -> Callable[[], datetime]:
    if settings.now is not None:
        return _make_clock(settings)
    return lambda: datetime.now(UTC) + SHIFT


if __name__ == "__main__":
    composition.make_clock = shifted_clock
    from celery.__main__ import main

    sys.exit(main())
