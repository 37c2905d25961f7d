"""The latency benchmark's baselines: a bare Celery app, a task doing one UPDATE and a
task writing by hand the rows of the engine's hold transaction.

``celery -A latency_bare worker`` (run by ``bench/latency.py`` from ``bench/``, with
``LATENCY_BARE_BROKER``, ``LATENCY_BARE_DSN`` and ``LATENCY_SAME_WRITES_DSN`` set): the
same broker options as jointflow's app (late acks, prefetch 1, JSON, no results), a
psycopg connection per database per pool process. ``bare.touch`` does one UPDATE,
committed; ``bare.same_writes`` carries out one submitted program's ``place_holds``
message as ``bench/budget_same_writes.py`` does (the budget bench's second baseline).
"""

from __future__ import annotations

import os
from functools import lru_cache

import psycopg
from budget_same_writes import hold_same_writes
from celery import Celery

TASK = "bare.touch"
SAME_WRITES = "bare.same_writes"
YEAR = 2026
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


@lru_cache(maxsize=2)
def connection(env: str = "LATENCY_BARE_DSN") -> psycopg.Connection[tuple[object, ...]]:
    return psycopg.connect(os.environ[env])


@app.task(name=TASK)
def touch(row: int) -> None:
    """One UPDATE, committed: the effect the benchmark waits to see."""
    conn = connection()
    conn.execute("UPDATE latency_bare SET n = n + 1 WHERE id = %s", (row,))
    conn.commit()


@app.task(name=SAME_WRITES)
def same_writes(message_id: int) -> None:
    """The hold transaction's rows for one outbox message, by hand, committed."""
    hold_same_writes(connection("LATENCY_SAME_WRITES_DSN"), YEAR, message_id)
