"""Workflow definitions: YAML files on disk, pinned versions in the database.

The newest version of each key found in the workflows folder is what new programs
start on; the first use of a version stores its source in ``workflow_definitions``
so a running program keeps its version even after the file moves on. Editing a
file without bumping its version is refused, naming the file. Machines are cached
per (key, version): one shared machine per definition version per process.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select

from workflow.adapters.batch import BatchingConnection
from workflow.adapters.orm import workflow_definitions
from workflow.domain.definition import WorkflowDefinition, parse_definition
from workflow.domain.errors import DefinitionError, NotFound
from workflow.domain.machine import GUARDS, WorkflowMachine


def load_text(text: str, source: str) -> WorkflowDefinition:
    """Parse and validate YAML text; errors name ``source`` and each problem."""
    try:
        data: Any = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise DefinitionError(source, [f"not valid YAML: {err}"]) from err
    return parse_definition(data, source, GUARDS)


def load_file(path: Path) -> WorkflowDefinition:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise DefinitionError(str(path), [f"cannot read the file: {err.strerror}"]) from err
    except (ValueError, UnicodeError) as err:  # NUL in the path; bytes that are not UTF-8
        raise DefinitionError(str(path), [f"cannot read the file: {err}"]) from err
    return load_text(text, str(path))


class DefinitionRegistry:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._files: dict[str, tuple[WorkflowDefinition, str]] | None = None
        self._machines: dict[tuple[str, int], WorkflowMachine] = {}
        self._registered: set[tuple[str, int]] = set()

    def files(self) -> dict[str, tuple[WorkflowDefinition, str]]:
        """The newest version of each key in the folder, with its source text."""
        if self._files is None:
            found: dict[str, tuple[WorkflowDefinition, str]] = {}
            for path in sorted(self.directory.glob("*.yaml")):
                text = path.read_text(encoding="utf-8")
                definition = load_text(text, str(path))
                known = found.get(definition.key)
                if known is None or known[0].version < definition.version:
                    found[definition.key] = (definition, text)
            self._files = found
        return self._files

    def current(self, conn: BatchingConnection, key: str, now: datetime) -> WorkflowMachine:
        """The machine new programs of ``key`` start on (its version stored for good)."""
        files = self.files()
        if key not in files:
            raise NotFound(
                f"no workflow {key!r} (known: {', '.join(sorted(files)) or 'none'})",
                reason="no_workflow",
                workflow=key,
                known=sorted(files),
            )
        definition, text = files[key]
        ident = (key, definition.version)
        if ident not in self._registered:
            self._register(conn, definition, text, now)
            self._registered.add(ident)
        return self._machine(definition)

    def pinned(self, conn: BatchingConnection, key: str, version: int) -> WorkflowMachine:
        """The machine of the exact version a program started on."""
        cached = self._machines.get((key, version))
        if cached is not None:
            return cached
        row = self.stored_source(conn, key, version)
        if row is None:
            raise NotFound(f"workflow {key} version {version} is not stored")
        return self._machine(load_text(row, f"{key}@{version} (stored)"))

    @staticmethod
    def stored_source(conn: BatchingConnection, key: str, version: int) -> str | None:
        wd = workflow_definitions.c
        return conn.execute(select(wd.source).where(wd.key == key, wd.version == version)).scalar()

    def _register(
        self, conn: BatchingConnection, definition: WorkflowDefinition, text: str, now: datetime
    ) -> None:
        """Store the version on its first use, or check it is the one stored. Processes
        using a version for the first time at once all succeed: the INSERT leaves the
        row of whichever stored it first (waiting for its commit on PostgreSQL), and
        everyone then reads that row's checksum."""
        checksum = hashlib.sha256(text.encode("utf-8")).hexdigest()
        wd = workflow_definitions.c
        conn.execute(
            conn.insert_or_skip(workflow_definitions, ["key", "version"]).values(
                key=definition.key,
                version=definition.version,
                checksum=checksum,
                source=text,
                created_at=now,
            )
        )
        stored = conn.execute(
            select(wd.checksum).where(wd.key == definition.key, wd.version == definition.version)
        ).scalar_one()
        if stored != checksum:
            raise DefinitionError(
                f"workflow {definition.key}",
                [
                    f"version {definition.version} was changed after programs started on it; "
                    "bump 'version' in the file"
                ],
            )

    def _machine(self, definition: WorkflowDefinition) -> WorkflowMachine:
        ident = (definition.key, definition.version)
        if ident not in self._machines:
            self._machines[ident] = WorkflowMachine(definition)
        return self._machines[ident]
