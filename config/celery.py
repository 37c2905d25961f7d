"""Celery configuration: broker and reliability options.

Reliability choices (PRODUCT §6): tasks are acknowledged late and re-queued when a
worker dies, so a killed worker loses nothing; the outbox relay re-sends whatever
was published but never acknowledged, so a Redis restart loses nothing either. Due
times live in database rows; the relay process only queues their sweep (one at a
time), never long ETA tasks. There is no beat schedule: nothing periodic is queued.
"""

from __future__ import annotations

from celery import Celery

from config.settings import Settings

SWEEP_TASK = "jointflow.run_due_work"


def make_celery(settings: Settings) -> Celery:
    """Build the Celery app for these settings (no connection is made here)."""
    app = Celery("jointflow", broker=settings.broker_url or "memory://")
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_ignore_result=True,
        task_serializer="json",
        accept_content=["json"],
        broker_connection_retry_on_startup=True,
        broker_transport_options={"visibility_timeout": 3600},
        timezone="Asia/Seoul",
    )
    return app
