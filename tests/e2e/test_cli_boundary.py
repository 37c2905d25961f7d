"""The command line only translates: the domain's refusals come back with the CLI's own
hint for what was missing, and each command module imports on its own."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from config.settings import get_settings
from workflow.entrypoints.cli import main


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    get_settings.cache_clear()
    with pytest.raises(SystemExit) as done:
        main(argv)
    get_settings.cache_clear()
    return int(done.value.code or 0), capsys.readouterr().err


def test_a_refusal_for_want_of_an_acting_user_names_the_cli_flag(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("JOINTFLOW_DATABASE_URL", f"sqlite:///{tmp_path / 'jf.db'}")
    code, err = run(["--lang", "en", "program", "submit", "1"], capsys)
    assert code == 1
    assert err == ("jointflow: this action needs an acting user (--as EMAIL or JOINTFLOW_USER)\n")
    code, err = run(["program", "submit", "1"], capsys)
    assert code == 1
    assert (
        err
        == "jointflow: 이 작업에는 처리하는 사용자가 필요합니다 (--as EMAIL 또는 JOINTFLOW_USER)\n"
    )


@pytest.mark.parametrize(
    "module",
    ["cli", "cli_program", "cli_tasks", "cli_reminders", "demo", "cli_context", "cli_words"],
)
def test_each_command_module_imports_on_its_own(module: str) -> None:
    subprocess.run(
        [sys.executable, "-c", f"import workflow.entrypoints.{module}"],
        check=True,
        capture_output=True,
    )
