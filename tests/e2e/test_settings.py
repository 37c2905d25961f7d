"""Bad settings are one line naming the setting, never a traceback (issue 18, item 4;
issue 16: an unknown scheme, a PostgreSQL database that does not exist, an SQLite folder
that does not exist, each through the real command line process).

The command line exits 1 with ``jointflow: invalid setting JOINTFLOW_...`` and changes
nothing, next to a real database of each backend; a database that cannot be reached is
one line too. The web process and the worker do not start: the same line, and a
non-zero exit, before any request or task is taken.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests import support as s
from tests.conftest import make_settings
from tests.e2e.runner import Result, run_in_process, run_subprocess
from workflow.bootstrap import bootstrap

BAD = [
    ("JOINTFLOW_NOW", "garbage", "invalid setting JOINTFLOW_NOW='garbage': Input should be"),
    ("JOINTFLOW_NOW", "0001-01-01T00:00", "the engine runs in the years 2000-2100"),
    ("JOINTFLOW_BROKER_URL", "garbage://x", "invalid setting JOINTFLOW_BROKER_URL: not a Redis"),
    ("JOINTFLOW_BROKER_URL", "redis://h:port/0", "JOINTFLOW_BROKER_URL: not a Redis URL"),
    ("JOINTFLOW_SWEEP_INTERVAL", "nan", "JOINTFLOW_SWEEP_INTERVAL='nan': Input should be"),
    ("JOINTFLOW_OUTBOX_BATCH_SIZE", "0", "JOINTFLOW_OUTBOX_BATCH_SIZE='0'"),
]
BAD_DATABASES = [
    ("garbage://x", "not a usable database URL (Can't load plugin"),
    ("mysql://db/x", "jointflow runs on sqlite or postgresql, not mysql"),
    ("postgresql+psycopg2://db/x", "the database driver is not installed"),
]


def one_line(result: Result, expected: str) -> None:
    assert result.code == 1, result
    assert expected in result.error_line  # exactly one "jointflow: ..." line
    assert "Traceback" not in result.err


@pytest.mark.parametrize(("name", "value", "expected"), BAD)
def test_a_bad_setting_is_one_line_naming_it_and_changes_nothing(
    database_url: str, name: str, value: str, expected: str
) -> None:
    bus = bootstrap(make_settings(database_url))
    s.seed(bus)
    before = s.stored(bus)
    env = {"JOINTFLOW_DATABASE_URL": database_url, "JOINTFLOW_USER": s.COORDINATOR, name: value}
    argv = ["program", "create", "--title", "T", "--org", "munsan-high", "--category", "linkage"]
    one_line(run_in_process([*argv, "--request", "city=1000", "--year", "2026"], env), expected)
    one_line(run_in_process(["program", "list"], env), expected)
    assert s.stored(bus) == before


@pytest.mark.parametrize(("url", "expected"), BAD_DATABASES)
def test_a_database_url_jointflow_cannot_use_is_one_line(url: str, expected: str) -> None:
    result = run_in_process(["program", "list"], {"JOINTFLOW_DATABASE_URL": url})
    one_line(result, "invalid setting JOINTFLOW_DATABASE_URL: ")
    assert expected in result.err


@pytest.mark.postgres
def test_a_database_that_cannot_be_reached_is_one_line_as_a_process() -> None:
    url = "postgresql+psycopg://postgres@127.0.0.1:1/jointflow"
    result = run_subprocess(["program", "list"], {"JOINTFLOW_DATABASE_URL": url})
    one_line(result, "jointflow: the database (JOINTFLOW_DATABASE_URL) failed: connection failed")


def test_a_bad_setting_as_a_process_is_one_line_and_exit_1(tmp_path: Path) -> None:
    env = {"JOINTFLOW_DATABASE_URL": f"sqlite:///{tmp_path / 'jf.db'}", "JOINTFLOW_NOW": "x"}
    one_line(run_subprocess(["program", "list"], env), "invalid setting JOINTFLOW_NOW='x'")
    env = {"JOINTFLOW_BROKER_URL": "garbage://x"}
    one_line(run_subprocess(["program", "list"], env), "JOINTFLOW_BROKER_URL: not a Redis URL")


def test_the_web_process_does_not_start_on_a_bad_setting(tmp_path: Path) -> None:
    uvicorn = Path(sys.executable).with_name("uvicorn")
    env = {"JOINTFLOW_DATABASE_URL": f"sqlite:///{tmp_path / 'jf.db'}", "JOINTFLOW_NOW": "x"}
    result = run_subprocess(
        ["workflow.entrypoints.api:app", "--port", "0"], env, command=[str(uvicorn)], timeout=60
    )
    assert result.code == 3  # uvicorn's "failed to start": its supervisor stops too
    assert result.err.strip() == (
        "jointflow: invalid setting JOINTFLOW_NOW='x': Input should be a valid datetime or "
        "date, input is too short"
    )


def test_the_worker_does_not_start_on_a_bad_broker_url() -> None:
    result = run_subprocess(
        ["-A", "tasks.app", "worker"],
        {"JOINTFLOW_BROKER_URL": "garbage://x"},
        command=[sys.executable, "-m", "celery"],
        timeout=60,
    )
    assert result.code == 1
    assert result.err.strip() == (
        "jointflow: invalid setting JOINTFLOW_BROKER_URL: not a Redis URL "
        "(expected redis://host:port/db or rediss://...)"
    )


def test_an_unknown_database_scheme_as_a_process_is_one_line() -> None:
    result = run_subprocess(["program", "list"], {"JOINTFLOW_DATABASE_URL": "oracle://db/x"})
    one_line(result, "invalid setting JOINTFLOW_DATABASE_URL: not a usable database URL")
    korean = run_subprocess(["program", "list"], {"JOINTFLOW_NOW": "x"}, lang=None)
    one_line(korean, "invalid setting JOINTFLOW_NOW='x'")


@pytest.mark.postgres
def test_a_postgresql_database_that_does_not_exist_is_named_in_one_line() -> None:
    url = "postgresql+psycopg://postgres@127.0.0.1:5432/jointflow_no_such_db"
    result = run_subprocess(["program", "list"], {"JOINTFLOW_DATABASE_URL": url})
    one_line(result, "the database jointflow_no_such_db (JOINTFLOW_DATABASE_URL) does not exist")
    korean = run_subprocess(["program", "list"], {"JOINTFLOW_DATABASE_URL": url}, lang=None)
    one_line(korean, "데이터베이스 jointflow_no_such_db(JOINTFLOW_DATABASE_URL)이(가) 없습니다")


def test_an_sqlite_path_whose_folder_does_not_exist_is_refused_not_made(tmp_path: Path) -> None:
    folder = tmp_path / "no" / "such"
    url = f"sqlite:///{folder / 'jf.db'}"
    result = run_subprocess(["db", "upgrade"], {"JOINTFLOW_DATABASE_URL": url})
    one_line(result, f"invalid setting JOINTFLOW_DATABASE_URL: the folder {folder} does not exist")
    assert not folder.exists() and not folder.parent.exists()


def test_the_embedded_default_still_makes_its_own_folder(tmp_path: Path) -> None:
    result = run_subprocess(["program", "list", "--json"], {"XDG_DATA_HOME": str(tmp_path / "x")})
    assert result.code == 0, result
    assert (tmp_path / "x" / "jointflow" / "jointflow.db").exists()
