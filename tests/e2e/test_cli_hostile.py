"""Issue 18's inputs, typed at the command line, on SQLite and PostgreSQL: each is one
``jointflow: ...`` line (or click's usage error), the exit code a script expects, and
nothing changed but the audit log's record of the refusal."""

from __future__ import annotations

from typing import Any

import pytest

from tests import support as s
from tests.conftest import make_settings
from tests.e2e.runner import Result, run_in_process
from workflow.bootstrap import bootstrap

BIG = "99999999999999999999999"
CREATE = ["program", "create", "--org", "munsan-high", "--category", "linkage", "--year", "2026"]


@pytest.fixture
def cli(database_url: str, tmp_path: Any) -> Any:
    bus = bootstrap(make_settings(database_url))
    s.seed(bus)
    s.submitted(bus)
    env = {"JOINTFLOW_DATABASE_URL": database_url, "XDG_DATA_HOME": str(tmp_path / "xdg")}

    def run(*argv: str, code: int = 1) -> Result:
        before = s.stored(bus)
        result = run_in_process(argv, env)
        assert result.code == code, result
        assert "Traceback" not in result.err
        if code:
            assert s.stored(bus) == before
        return result

    return run


@pytest.mark.parametrize("number", [BIG, "9223372036854775808", "0", "-1"])
def test_an_id_out_of_range_is_not_found_for_every_command_that_takes_one(
    cli: Any, number: str
) -> None:
    coordinator, approver = ["--as", s.COORDINATOR], ["--as", s.CITY_APPROVER]
    for argv, said in [
        (["program", "show", "--", number], f"program {number} does not exist"),
        ([*coordinator, "program", "submit", "--", number], f"program {number} does not exist"),
        (["program", "history", "--", number], f"program {number} does not exist"),
        (["budget", "ledger", "--program", number], f"program {number} does not exist"),
        ([*approver, "task", "claim", "--", number], f"task {number} does not exist"),
        ([*coordinator, "notifications", "read", "--", number], f"no message {number} for"),
        ([*approver, "inbox", "--after", number], f"task {number} does not exist"),
    ]:
        assert said in cli(*argv).error_line


def test_lengths_past_the_limits_are_one_line_on_both_databases(cli: Any) -> None:
    title = cli("--as", s.COORDINATOR, *CREATE, "--request", "city=10", "--title", "t" * 301)
    assert title.error_line == "jointflow: title is 301 characters long; at most 300 are kept"
    email = "e" * 250 + "@x.kr"
    long_email = cli("user", "add", email, "--name", "n", "--org", "city", "--role", "approver")
    assert "is longer than 254 characters" in long_email.error_line
    name = cli("user", "add", "n@x.kr", "--name", "n" * 201, "--org", "city", "--role", "approver")
    assert "name is 201 characters long" in name.error_line
    key = cli("org", "add", "k" * 65, "--name", "K")
    assert "is longer than 64 characters" in key.error_line
    huge = cli("--as", s.COORDINATOR, *CREATE, "--request", "city=10", "--title", "t" * 100_000)
    assert "title is 100,000 characters long" in huge.error_line


def test_the_small_gaps_are_closed(cli: Any) -> None:
    at = cli("user", "add", "@", "--name", "x", "--org", "city", "--role", "approver")
    assert at.error_line == "jointflow: '@' is not an email address"
    blank = cli("user", "add", "a@b.kr", "--name", " ", "--org", "city", "--role", "approver")
    assert blank.error_line == "jointflow: name must not be empty"
    org = cli("org", "add", "new-org", "--name", "")
    assert org.error_line == "jointflow: organization name must not be empty"
    split = cli("--as", s.COORDINATOR, *CREATE, "--title", "T", "--request", "city=1_0_", code=2)
    assert "'city=1_0_' is not PARTY=KRW" in split.usage_error


def test_a_refusal_that_repeats_typed_control_characters_stays_one_line(cli: Any) -> None:
    refused = cli("workflow", "validate", "no\rsuch.yaml")
    assert refused.error_line == (
        "jointflow: no\\rsuch.yaml: cannot read the file: No such file or directory"
    )
