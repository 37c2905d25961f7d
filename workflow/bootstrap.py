"""The composition root: settings in, a wired message bus out.

Entry points (CLI, Celery tasks, tests, benchmarks) call :func:`bootstrap`; nothing
else builds engines or picks the dispatcher. The deployment mode is configuration:
no broker URL means the outbox runs in-process, a broker URL means the Celery relay.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from config.settings import Settings, get_settings
from workflow.adapters.channels import OutboundChannels
from workflow.adapters.database import engine_for, is_current, upgrade
from workflow.adapters.definitions import DefinitionRegistry
from workflow.adapters.file_store import store_factory
from workflow.adapters.mail import Mailer, SmtpConfig
from workflow.adapters.templates import TemplateRenderer
from workflow.adapters.unit_of_work import SqlUnitOfWorkFactory
from workflow.domain.calendar import SEOUL
from workflow.domain.delivery import RetryPolicy
from workflow.service_layer.courier import Courier
from workflow.service_layer.messagebus import (
    Dispatcher,
    InlineDispatcher,
    MessageBus,
    RelayDispatcher,
)

if TYPE_CHECKING:
    from workflow.adapters.relay import OutboxRelay
    from workflow.adapters.relay_process import RelayProcess, SweepGate


def make_clock(settings: Settings) -> Callable[[], datetime]:
    """``JOINTFLOW_NOW`` fixes the clock for a whole command; naive times are Seoul time."""
    if settings.now is None:
        return lambda: datetime.now(UTC)
    fixed = settings.now if settings.now.tzinfo else settings.now.replace(tzinfo=SEOUL)
    fixed = fixed.astimezone(UTC)
    return lambda: fixed


def bootstrap(
    settings: Settings | None = None,
    clock: Callable[[], datetime] | None = None,
    worker: bool = False,
) -> MessageBus:
    """``worker``: a Celery worker's bus, which publishes what it writes to the outbox as
    soon as that commits (a notice's deliveries reach a worker in milliseconds); the
    request path's commands wake the relay process with their commit (NOTIFY)."""
    settings = settings or get_settings()
    engine = engine_for(settings.database_url)
    if settings.auto_migrate and not is_current(engine):
        upgrade(engine)
    registry = DefinitionRegistry(settings.workflows_dir)
    dispatcher: Dispatcher = InlineDispatcher() if settings.embedded else RelayDispatcher()
    if worker and not settings.embedded:
        from workflow.adapters.relay import PublishingDispatcher

        dispatcher = PublishingDispatcher(make_relay(settings))
    uow = SqlUnitOfWorkFactory(
        engine,
        registry,
        clock or make_clock(settings),
        settings.default_workflow,
        TemplateRenderer(settings.base_url),
        store_factory(settings.file_store),
        settings.max_file_bytes,
        wake_relay=not settings.embedded and not worker,
    )
    return MessageBus(uow, dispatcher, make_courier(settings))


def make_courier(settings: Settings) -> Courier:
    """The channels deliveries go out on (SMTP when configured), and their retry policy."""
    mailer = None
    if settings.smtp_host:
        mailer = Mailer(
            SmtpConfig(
                settings.smtp_host,
                settings.smtp_port,
                settings.smtp_user,
                settings.smtp_password,
                settings.smtp_starttls,
                settings.smtp_from,
            )
        )
    policy = RetryPolicy(
        max_attempts=settings.delivery_max_attempts,
        base_seconds=settings.delivery_retry_seconds,
        stale_seconds=settings.delivery_stale_seconds,
    )
    return Courier(OutboundChannels(mailer), policy, batch_size=settings.delivery_batch_size)


def make_relay(settings: Settings | None = None) -> OutboxRelay:
    """The outbox relay for the relay process and workers (imports Celery, which request
    paths never need)."""
    from config.celery import make_celery
    from workflow.adapters.relay import OutboxRelay
    from workflow.service_layer.handlers import TOGETHER

    settings = settings or get_settings()
    return OutboxRelay(
        engine_for(settings.database_url),
        make_celery(settings),
        settings.outbox_redeliver_seconds,
        settings.outbox_batch_size,
        TOGETHER,
    )


def make_sweep_gate(settings: Settings | None = None) -> SweepGate:
    """The broker's mark that a due-work sweep is queued (see ``relay_process``)."""
    import redis

    from workflow.adapters.relay_process import SweepGate

    settings = settings or get_settings()
    assert settings.broker_url is not None, "a deployment's gate needs its broker"
    return SweepGate(redis.Redis.from_url(settings.broker_url), SWEEP_GATE_SECONDS)


# Celery's Redis visibility timeout (config.celery): a taken sweep is restored by then.
SWEEP_GATE_SECONDS = 3600


def make_relay_process(settings: Settings | None = None) -> RelayProcess:
    """The Procfile's ``relay``: the outbox relay woken at commit, and the due-work sweeps."""
    from config.celery import SWEEP_TASK
    from workflow.adapters.relay_process import DueWorkTrigger, RelayProcess

    settings = settings or get_settings()
    relay = make_relay(settings)
    gate = make_sweep_gate(settings)
    trigger = DueWorkTrigger(relay.celery_app, SWEEP_TASK, gate, relay.queue_is_empty)
    return RelayProcess(relay, settings.outbox_relay_interval, trigger, settings.sweep_interval)
