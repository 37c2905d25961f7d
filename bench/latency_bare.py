"""The latency benchmark's baseline: a bare Celery app whose one task does one UPDATE.

``celery -A latency_bare worker`` (run by ``bench/latency.py`` from ``bench/``, with
``LATENCY_BARE_BROKER`` and ``LATENCY_BARE_DSN`` set): the same broker options as
jointflow's app (late acks, prefetch 1, JSON, no results), one psycopg connection per
pool process, one UPDATE per task, committed.
"""

from __future__ import annotations

import os
from functools import lru_cache

import psycopg
from celery import Celery

TASK = "bare.touch"
app = Celery("bare", broker=os.environ.get("LATENCY_BARE_BROKER", "memory://"))
app.conf.update(
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    task_ignore_result=True,
    task_serializer="json",
    accept_content=["json"],
    broker_connection_retry_on_startup=True,
    broker_transport_options={"visibility_timeout": 3600},
)


@lru_cache(maxsize=1)
def connection() -> psycopg.Connection[tuple[object, ...]]:
    return psycopg.connect(os.environ["LATENCY_BARE_DSN"])


@app.task(name=TASK)
def touch(row: int) -> None:
    """One UPDATE, committed: the effect the benchmark waits to see."""
    conn = connection()
    conn.execute("UPDATE latency_bare SET n = n + 1 WHERE id = %s", (row,))
    conn.commit()
