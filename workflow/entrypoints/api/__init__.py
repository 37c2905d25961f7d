"""The HTTP API (``/api/v1``): every action the CLI has, as JSON over HTTP.

``app`` is built on first access (``uvicorn workflow.entrypoints.api:app``), from the
environment's settings (a bad one: one line on stderr, and the server does not start);
``create_app`` builds one for given settings or a given bus. Importing this package
opens nothing. (No submodule may be called ``app``: importing
it would bind the package's ``app`` attribute to the module, which uvicorn then finds.)
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fastapi import FastAPI

__all__ = ["app", "create_app"]


def create_app(*args: Any, **kwargs: Any) -> FastAPI:
    from workflow.entrypoints.api.factory import create_app as build

    return build(*args, **kwargs)


# uvicorn's exit status for a worker that failed to start: its supervisor then stops
# instead of starting the worker again, and again.
STARTUP_FAILURE = 3


@lru_cache(maxsize=1)
def _default_app() -> FastAPI:
    """The app of the environment's settings: a bad one stops the process at start-up
    with one line naming it, before any request is taken."""
    from config.settings import settings_or_exit

    return create_app(settings_or_exit(STARTUP_FAILURE))


def __getattr__(name: str) -> Any:
    if name == "app":
        return _default_app()
    raise AttributeError(name)
