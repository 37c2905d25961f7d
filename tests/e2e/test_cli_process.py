"""The ``jointflow`` command line as real processes: what only a process shows.

Every other CLI test calls ``main(argv)`` in the test process (``tests.e2e.runner``);
these start real processes because the process itself is what they check:

- the installed console script starts: its entry point resolves, ``--help`` exits 0
  with the commands on stdout and nothing on stderr, an unknown command exits 2;
- exit statuses as a shell sees them: 0, 1 and one ``jointflow: ...`` line for a
  refusal, 2 and click's usage error, and never a traceback (nor anything else a
  process might print on its way out);
- a bad setting (``JOINTFLOW_NOW``, ``JOINTFLOW_DATABASE_URL``) is one line and exit 1,
  not a traceback;
- for those calls, the in-process runner reports the same exit code, stdout and
  stderr as the processes did: the check that the in-process tests see what a script
  would;
- commands at once, each its own process and transaction, on one SQLite file: every
  write lands (WAL, ``BEGIN IMMEDIATE`` and the busy timeout across processes), which
  the in-process tests, one command at a time, cannot show.

(The demo, too, runs as a real process in ``test_demo``.)
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.runner import REPO, Result, run_subprocess
from tests.e2e.test_cli import Jointflow, call

Call = tuple[tuple[str, ...], dict[str, Any]]

COMMANDS = (
    "audit",
    "budget",
    "db",
    "delegate",
    "demo",
    "inbox",
    "notifications",
    "org",
    "program",
    "reminders",
    "task",
    "tick",
    "user",
    "waiting",
    "workflow",
)


def console_script(*argv: str, home: Path) -> Result:
    """The ``jointflow`` script that pip installed beside this interpreter, run on this
    checkout's code (``PYTHONPATH``: the installed copy may be older than the tree)."""
    script = Path(sys.executable).with_name("jointflow")
    assert script.exists(), f"no console script at {script}: pip install '.[test]' first"
    return run_subprocess(
        argv, {"PYTHONPATH": str(REPO), "XDG_DATA_HOME": str(home)}, command=[str(script)]
    )


def no_traceback(result: Result) -> Result:
    assert "Traceback" not in result.err and "Traceback" not in result.out, result
    return result


@pytest.fixture
def jf(tmp_path: Path) -> Jointflow:
    """Each call a process; ``in_process(jf)`` sets up and reads back, on the same file."""
    return Jointflow(
        {
            "JOINTFLOW_DATABASE_URL": f"sqlite:///{tmp_path / 'jointflow.db'}",
            "XDG_DATA_HOME": str(tmp_path / "xdg"),
        },
        subprocess=True,
    )


def in_process(jf: Jointflow) -> Jointflow:
    return Jointflow(jf.env)


def test_the_console_script_starts_and_shows_its_commands(tmp_path: Path) -> None:
    helped = console_script("--help", home=tmp_path)
    assert helped.code == 0 and helped.err == "", helped
    assert helped.out.startswith("Usage: jointflow [OPTIONS] COMMAND [ARGS]...")
    listed = helped.out.split("Commands:", 1)[1].split()
    assert all(command in listed for command in COMMANDS), listed
    unknown = no_traceback(console_script("budgte", "report", home=tmp_path))
    assert unknown.code == 2 and unknown.out == ""
    assert unknown.usage_error == "Error: No such command 'budgte'. Did you mean 'budget'?"
    assert not (tmp_path / "jointflow").exists()  # neither opened the default database


def same_in_process(jf: Jointflow, calls: list[Call], processes: list[Result]) -> None:
    """The in-process runner reports what the processes did: exit code, stdout, stderr."""
    assert [(r.code, r.out, r.err) for r in in_process(jf).many(*calls)] == [
        (r.code, r.out, r.err) for r in processes
    ]


def test_exit_statuses_as_a_shell_sees_them(jf: Jointflow) -> None:
    in_process(jf)("db", "upgrade")
    in_process(jf)("org", "add", "city", "--name", "Paju City", "--funder")
    calls = [
        call("program", "show", "999999", code=1),
        call("program", "show", "first", code=2),
        call(
            "program",
            "create",
            "--title",
            "T",
            "--org",
            "city",
            "--category",
            "linkage",
            "--request",
            "city=5",
            as_="nobody@nowhere.kr",
            code=1,
        ),
        call("program", "--help"),
        call("org", "list", "--json"),
    ]
    missing, usage, nobody, helped, listed = processes = jf.many(*calls)
    assert no_traceback(missing).error_line == "jointflow: program 999999 does not exist"
    assert "'first' is not a valid integer" in no_traceback(usage).usage_error
    assert "nobody@nowhere.kr" in no_traceback(nobody).error_line
    assert missing.out == usage.out == nobody.out == ""
    assert helped.out.startswith("Usage: jointflow program [OPTIONS] COMMAND") and not helped.err
    assert listed.json == [{"key": "city", "name": "Paju City", "funder": True}]
    assert listed.err == ""
    same_in_process(jf, calls, processes)


def test_a_bad_setting_is_one_line_and_exit_1_never_a_traceback(jf: Jointflow) -> None:
    calls = [
        call("program", "list", env={"JOINTFLOW_NOW": "next tuesday"}, code=1),
        call("budget", "report", env={"JOINTFLOW_DATABASE_URL": "postgres:/nowhere"}, code=1),
    ]
    clock, url = processes = jf.many(*calls)
    assert no_traceback(clock).error_line.startswith(
        "jointflow: invalid setting JOINTFLOW_NOW='next tuesday': Input should be a valid datetime"
    )
    assert no_traceback(url).error_line.startswith(
        "jointflow: invalid setting JOINTFLOW_DATABASE_URL: not a usable database URL"
    )
    assert clock.out == url.out == ""
    same_in_process(jf, calls, processes)


def test_commands_at_once_each_its_own_process_on_one_sqlite_file(jf: Jointflow) -> None:
    in_process(jf)("db", "upgrade")
    orgs = {
        "city": ["--funder"],
        "education_office": ["--funder"],
        "munsan-high": [],
        "paju-youth": [],
    }
    added = jf.many(
        *[call("org", "add", key, "--name", key.title(), *flags) for key, flags in orgs.items()]
    )
    assert [r.out.strip() for r in added] == [f"organization {key} added" for key in orgs]
    listed = in_process(jf)("org", "list", "--json").json
    assert {o["key"]: o["funder"] for o in listed} == {key: bool(f) for key, f in orgs.items()}
