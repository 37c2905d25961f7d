"""What a request needs from the process: the settings, the bus, the idempotency store.

Built lazily on first use, so importing the application (uvicorn's workers, the
OpenAPI export, tests) opens no connection and migrates nothing.
"""

from __future__ import annotations

from functools import cached_property

from fastapi import Request
from sqlalchemy import Engine

from config.settings import Settings, get_settings
from workflow.adapters.database import engine_for
from workflow.adapters.idempotency import IdempotencyStore
from workflow.service_layer.messagebus import MessageBus


class Services:
    def __init__(self, settings: Settings | None = None, bus: MessageBus | None = None) -> None:
        self._settings = settings
        self._bus = bus

    @cached_property
    def settings(self) -> Settings:
        return self._settings or get_settings()

    @cached_property
    def bus(self) -> MessageBus:
        if self._bus is not None:
            return self._bus
        from workflow.bootstrap import bootstrap

        return bootstrap(self.settings)

    @cached_property
    def engine(self) -> Engine:
        return engine_for(self.settings.database_url)

    @cached_property
    def idempotency(self) -> IdempotencyStore:
        return IdempotencyStore(self.engine)


def services(request: Request) -> Services:
    """The dependency every route takes: the application's one ``Services``."""
    found: Services = request.app.state.services
    return found


def bus(request: Request) -> MessageBus:
    return services(request).bus
