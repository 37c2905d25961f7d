"""What a request needs from the process: the settings, the bus, the idempotency store,
the key that signs the pages' cookies.

Built lazily on first use, so importing the application (uvicorn's workers, the
OpenAPI export, tests) opens no connection and migrates nothing.
"""

from __future__ import annotations

import os
import secrets
from contextlib import suppress
from functools import cached_property
from pathlib import Path

from fastapi import Request
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

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

    @property
    def built_bus(self) -> MessageBus | None:
        """``bus`` if it has been built (``cached_property`` keeps it in ``__dict__``)."""
        built: MessageBus | None = self.__dict__.get("bus")
        return built

    @cached_property
    def engine(self) -> Engine:
        return engine_for(self.settings.database_url)

    @cached_property
    def idempotency(self) -> IdempotencyStore:
        return IdempotencyStore(self.engine)

    @cached_property
    def site_secret(self) -> bytes:
        """Signs the pages' cookies: ``JOINTFLOW_SECRET_KEY``, or on one machine a key made
        once in the data directory (every process of the machine reads the same file)."""
        if self.settings.secret_key:
            return self.settings.secret_key.encode()
        path = Path(self.settings.data_dir) / "secret_key"
        if not path.exists():  # written aside, then linked: nobody reads half a key
            path.parent.mkdir(parents=True, exist_ok=True)
            aside = path.with_name(f".secret_key.{os.getpid()}")
            fd = os.open(aside, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as out:
                out.write(secrets.token_urlsafe(48))
            with suppress(FileExistsError):  # another process made it first: theirs counts
                os.link(aside, path)
            aside.unlink()
        return path.read_text().strip().encode()


def services_of(request: Request) -> Services:
    found: Services = request.app.state.services
    return found


# The dependencies are coroutines: FastAPI runs a plain function in a worker thread, a
# hop that costs a request more than the lookup itself.


async def services(request: Request) -> Services:
    """The dependency every route takes: the application's one ``Services``."""
    return services_of(request)


async def bus(request: Request) -> MessageBus:
    """The bus; built in a worker thread the first time (bootstrap may touch the
    database), so the event loop never waits on it."""
    found = services_of(request)
    built = found.built_bus
    if built is None:
        built = await run_in_threadpool(lambda: found.bus)
    return built
