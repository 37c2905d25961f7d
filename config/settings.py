"""Typed settings read from ``JOINTFLOW_*`` environment variables.

With nothing set, jointflow runs embedded: a SQLite file under the user's data
directory and no broker (outbox messages run in-process before a command returns).
Setting ``JOINTFLOW_DATABASE_URL`` and ``JOINTFLOW_BROKER_URL`` turns the same code
into a deployment with Celery workers. Read settings through :func:`get_settings`
so tests can clear the cache and nothing is read at import time.
"""

from __future__ import annotations

import os
import sys
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import Field, ValidationError, field_validator
from pydantic_core import PydanticCustomError
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import make_url
from sqlalchemy.exc import ArgumentError

from workflow.domain.definition import DEFAULT_WORKFLOW
from workflow.domain.documents import DEFAULT_MAX_BYTES, MAX_BYTES_LIMIT
from workflow.domain.errors import InvalidInput
from workflow.domain.program import FISCAL_YEARS

WORKFLOWS_DIR = Path(__file__).resolve().parent / "workflows"
BACKENDS = ("sqlite", "postgresql")  # the databases jointflow is built and tested on
BROKER_SCHEMES = ("redis", "rediss")  # Celery's Redis transport, plain or TLS
Seconds = Annotated[float, Field(gt=0, allow_inf_nan=False)]


def default_data_dir() -> Path:
    """Where the embedded default keeps its files: XDG_DATA_HOME (or ~/.local/share)."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "jointflow"


def default_database_url() -> str:
    """The embedded SQLite file, in the data directory."""
    return f"sqlite:///{default_data_dir() / 'jointflow.db'}"


class Settings(BaseSettings):
    """Every knob of a jointflow process; the deployment mode is only configuration."""

    model_config = SettingsConfigDict(env_prefix="JOINTFLOW_", extra="ignore")

    database_url: str = ""
    broker_url: str | None = None
    workflows_dir: Path = WORKFLOWS_DIR
    default_workflow: str = DEFAULT_WORKFLOW
    user: str | None = None
    now: datetime | None = None
    # Seconds after which a published but unacknowledged outbox message is re-sent.
    outbox_redeliver_seconds: Seconds = 60.0
    # Seconds between the relay process's sweeps of the outbox: a command's commit wakes
    # it at once (NOTIFY); the sweep is for what a crash left behind, and SQLite.
    outbox_relay_interval: Seconds = 5.0
    outbox_batch_size: Annotated[int, Field(ge=1, le=100_000)] = 500
    # Seconds between the relay's sweeps of due scheduled work (start, end, hold expiry).
    sweep_interval: Seconds = 60.0
    auto_migrate: bool = True
    # Where the links in messages point: the web process as people reach it.
    base_url: str = "http://127.0.0.1:8000"
    # Signs the web pages' session cookies; unset, a key made once in ``data_dir``
    # (fine on one machine; set it when web processes run on several).
    secret_key: str | None = None
    data_dir: Path = Field(default_factory=default_data_dir)
    # Email (issue 14); no host: email is delivered in-app instead.
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = False
    smtp_from: str = "jointflow <jointflow@localhost>"
    # Deliveries: attempts before the dead-letter list, the first back-off (doubling),
    # and how long an attempt may go unreconciled before it is made again.
    delivery_max_attempts: int = 8
    delivery_retry_seconds: float = 30.0
    delivery_stale_seconds: float = 300.0
    # Attached documents (issue 16): the most bytes one file may have, and where their
    # bytes are kept (unset: in the database; else this directory, which must exist).
    max_file_bytes: Annotated[int, Field(ge=1, le=MAX_BYTES_LIMIT)] = DEFAULT_MAX_BYTES
    file_store: Path | None = None
    # How many due deliveries a worker claims, sends and reconciles together.
    delivery_batch_size: Annotated[int, Field(ge=1, le=1000)] = 25

    @field_validator("database_url")
    @classmethod
    def _default_database(cls, value: str) -> str:
        explicit, value = bool(value), value or default_database_url()
        try:
            url = make_url(value)
            dialect = url.get_dialect()
        except ArgumentError as err:  # unparsable, or no such database driver
            raise _unusable("not a usable database URL ({reason})", str(err)) from err
        if url.get_backend_name() not in BACKENDS or dialect.is_async:
            raise _unusable(
                "not a usable database URL (jointflow runs on {reason})",
                " or ".join(BACKENDS) + f", not {url.drivername}",
            )
        try:
            dialect.import_dbapi()
        except ImportError as err:
            raise _unusable("the database driver is not installed ({reason})", str(err)) from err
        folder = _sqlite_folder(url.database) if url.get_backend_name() == "sqlite" else None
        if explicit and folder is not None and not folder.is_dir():
            # Only the embedded default's folder is made; a path typed wrong is refused.
            raise _unusable("the folder {reason} does not exist", str(folder))
        return value

    @field_validator("file_store", mode="before")
    @classmethod
    def _existing_directory(cls, value: Any) -> Any:
        if value is None or value == "":
            return None
        path = Path(str(value))
        if not path.is_dir():
            raise _unusable("the file store directory {reason}", "does not exist")
        if not os.access(path, os.W_OK | os.X_OK):
            raise _unusable("the file store directory {reason}", "is not writable")
        return path

    @field_validator("smtp_host", "smtp_user", "smtp_password")
    @classmethod
    def _empty_is_none(cls, value: str | None) -> str | None:
        return value or None

    @field_validator("broker_url")
    @classmethod
    def _redis_broker(cls, value: str | None) -> str | None:
        if not value:
            return None
        try:
            parts = urlsplit(value)
            _ = parts.port  # a port that is not a number raises here
        except ValueError as err:
            raise _unusable("not a Redis URL ({reason})", str(err)) from err
        if parts.scheme not in BROKER_SCHEMES or not parts.hostname:
            raise _unusable(
                "not a Redis URL ({reason})", "expected redis://host:port/db or rediss://..."
            )
        return value

    @field_validator("now")
    @classmethod
    def _now_in_the_engine_years(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.year not in FISCAL_YEARS:
            raise _unusable(
                "the engine runs in the years {reason}",
                f"{FISCAL_YEARS.start}-{FISCAL_YEARS.stop - 1}",
            )
        return value

    @field_validator("delivery_max_attempts")
    @classmethod
    def _at_least_one_attempt(cls, value: int) -> int:
        if value < 1:
            raise PydanticCustomError("attempts", "at least 1 attempt")
        return value

    @property
    def embedded(self) -> bool:
        """No broker: outbox messages are run in-process after each commit."""
        return self.broker_url is None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings; bad ``JOINTFLOW_*`` values are one refusal naming them."""
    try:
        return Settings()
    except ValidationError as err:
        raise InvalidInput("; ".join(_named(e) for e in err.errors())) from err


def settings_or_exit(status: int = 1) -> Settings:
    """The settings, for a process that cannot start without them (web, worker, relay):
    a bad one is a line on stderr naming it and the exit ``status``, not a traceback."""
    try:
        return get_settings()
    except InvalidInput as err:
        print(f"jointflow: {err.message}", file=sys.stderr)
        raise SystemExit(status) from None


def _sqlite_folder(database: str | None) -> Path | None:
    """The folder an SQLite file would be in (None: in memory)."""
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database).expanduser().parent


def _unusable(template: str, reason: str) -> PydanticCustomError:
    return PydanticCustomError("unusable_setting", template, {"reason": reason})


def _named(error: Any) -> str:
    name = "JOINTFLOW_" + "_".join(map(str, error["loc"])).upper()
    secret = name.endswith(("_URL", "_PASSWORD"))  # a URL may hold a password too
    shown = "" if secret else f"={error['input']!r}"
    return f"invalid setting {name}{shown}: {error['msg']}"
