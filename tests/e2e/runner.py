"""Two ways to run the ``jointflow`` command line and see what a script would see.

:func:`run_in_process` calls the console script's function, ``workflow.entrypoints.cli.main``,
inside the test process (click's ``CliRunner`` isolation swaps the standard streams and
the environment for the call): no Python start-up, imports or bootstrap per command.
:func:`run_subprocess` starts a real ``python -m workflow``; a few tests keep it for what
only a process shows (the console script starting, exit statuses, several processes
writing one SQLite file at once, the demo as a newcomer runs it).

Both run the command line in English (``--lang en`` first), the language the tests'
expected text is written in, unless ``lang`` says otherwise (``None``: no ``--lang``, so
Korean, or the acting user's locale). Both take ``env`` the same way: changes to the
test process's environment, ``None`` removing a variable, with every ambient
``JOINTFLOW_*`` removed first, so a command sees only the settings its test gives it (and
``COLUMNS=80``, so help wraps the same in both). Both return the exit code (``0`` ok,
``1`` refused or invalid, ``2`` usage error) and stdout and stderr apart.

What a subprocess gets for free, the in-process run does by hand for each call:

- ``config.settings.get_settings`` is cached for the life of a process: it is cleared
  before and after each call, so each command reads its own ``JOINTFLOW_*``;
- ``main`` ends in ``sys.exit``: ``SystemExit`` is caught and its code reported the
  way the interpreter would report it;
- an exception that escapes ``main`` would be a traceback on a process's stderr and
  exit status 1: it is written to the call's stderr, and the call exits 1, so the
  tests that want one clear line and no traceback still see it;
- the process's exit closes its database connections: every engine a call connected
  (``workflow.adapters.database.engine_for`` keeps one per URL) has its pool disposed
  after the call, and no connection outlives its command. The engines themselves stay
  cached, as they would within one long-lived process.

The in-process run changes process-wide state (``sys.stdout``, ``os.environ``) for the
length of a call: calls are made one at a time, never from several threads.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import traceback
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from click import formatting
from click.testing import CliRunner
from sqlalchemy import Connection, Engine, event

from config.settings import get_settings
from workflow.entrypoints.cli import main

REPO = Path(__file__).resolve().parents[2]
Env = Mapping[str, str | None]


@dataclass(frozen=True)
class Result:
    args: Sequence[str]
    code: int
    out: str
    err: str

    @property
    def json(self) -> Any:
        return json.loads(self.out)

    @property
    def error_line(self) -> str:
        """A refusal's stderr: exactly one line, naming the problem."""
        lines = self.err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("jointflow: "), self
        return lines[0]

    @property
    def usage_error(self) -> str:
        """A usage error's stderr: click's usage hint and a last ``Error:`` line."""
        last = self.err.strip().splitlines()[-1]
        assert last.startswith("Error: "), self
        return last


def _changes(env: Env) -> dict[str, str | None]:
    """``env`` on top of removing every ambient JOINTFLOW_* setting. ``COLUMNS``: help is
    wrapped for an 80-column terminal, whatever terminal (if any) runs the tests."""
    return {
        **dict.fromkeys(n for n in os.environ if n.startswith("JOINTFLOW_")),
        "COLUMNS": "80",
        **env,
    }


def process_env(env: Env) -> dict[str, str]:
    """The whole environment of a subprocess: this one's, changed by ``env``."""
    whole = dict(os.environ)
    for name, value in _changes(env).items():
        if value is None:
            whole.pop(name, None)
        else:
            whole[name] = value
    return whole


def _language(argv: Sequence[str], lang: str | None) -> list[str]:
    return [*(("--lang", lang) if lang else ()), *argv]


def run_subprocess(
    argv: Sequence[str],
    env: Env,
    *,
    command: Sequence[str] | None = None,
    timeout: float = 120,
    lang: str | None = "en",
) -> Result:
    """``python -m workflow ARGV`` (or ``command ARGV``) as a real process in the repository.
    ``command``: a program other than jointflow takes ARGV as given (no ``--lang``)."""
    other = command is not None and Path(command[0]).name != "jointflow"
    args = list(argv) if other else _language(argv, lang)
    proc = subprocess.run(
        [*(command or (sys.executable, "-m", "workflow")), *args],
        cwd=REPO,
        env=process_env(env),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return Result(tuple(argv), proc.returncode, proc.stdout, proc.stderr)


def run_in_process(argv: Sequence[str], env: Env, *, lang: str | None = "en") -> Result:
    """``main(ARGV)`` in this process, as if it were the console script's process."""
    runner = CliRunner()  # click >= 8.2: stdout and stderr are kept apart
    get_settings.cache_clear()
    try:
        with runner.isolation(env=_changes(env)) as (stdout, stderr, _), _connections_closed():
            # CliRunner wraps help at a fixed 80; a process asks the terminal ($COLUMNS).
            # (The isolation puts CliRunner's value back afterwards.)
            formatting.FORCED_WIDTH = None
            try:
                main(_language(argv, lang))
                code = 0
            except SystemExit as done:
                code = _exit_status(done.code)
            except Exception:  # what a process would print before exiting 1
                traceback.print_exc()
                code = 1
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
            out, err = stdout.getvalue(), stderr.getvalue()
    finally:
        get_settings.cache_clear()
    return Result(tuple(argv), code, out.decode(runner.charset), err.decode(runner.charset))


def _exit_status(code: object) -> int:
    """The status ``sys.exit(code)`` gives a process (anything not an int is printed)."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1


@contextmanager
def _connections_closed() -> Iterator[None]:
    """Dispose the pool of every engine that connected meanwhile (as a process's exit would)."""
    used: set[Engine] = set()

    def connected(conn: Connection) -> None:
        used.add(conn.engine)

    event.listen(Engine, "engine_connect", connected)
    try:
        yield
    finally:
        event.remove(Engine, "engine_connect", connected)
        for engine in used:
            engine.dispose()
