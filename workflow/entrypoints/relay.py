"""The Procfile's ``relay`` process: ``python -m workflow.entrypoints.relay``.

It publishes each command's outbox messages to Redis the moment the command commits
(woken by PostgreSQL ``NOTIFY``), sweeps the outbox for what a crash left behind, and
queues the due-work sweep, one at a time (``workflow/adapters/relay_process.py``).
A deployment needs it: without it nothing a command wrote reaches a worker.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import sys

from config.settings import settings_or_exit
from workflow.bootstrap import make_relay_process


def main() -> None:
    settings = settings_or_exit()
    if settings.embedded:
        print(
            "jointflow: the relay needs JOINTFLOW_BROKER_URL "
            "(without a broker the outbox runs in-process)",
            file=sys.stderr,
        )
        raise SystemExit(1)
    logging.basicConfig(level=logging.INFO, format="[%(asctime)s: %(levelname)s/relay] %(message)s")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # leave through the finally blocks
    process = make_relay_process(settings)
    logging.getLogger(__name__).info(
        "relay ready: outbox swept every %.1f s, due work every %.1f s",
        settings.outbox_relay_interval,
        settings.sweep_interval,
    )
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C: a clean stop too
        process.run()


if __name__ == "__main__":
    main()
