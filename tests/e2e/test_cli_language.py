"""The command line speaks Korean by default, English by ``--lang en`` or by the acting
user's locale, and ``--json`` is the same in every language (issue 16). ``--version``
comes from the package; every option with a closed set of values lists them in its help.
"""

from __future__ import annotations

from importlib.metadata import version
from typing import Any

import click
import pytest

from tests import support as s
from tests.conftest import make_settings
from tests.e2e.runner import Result, run_in_process, run_subprocess
from workflow.bootstrap import bootstrap
from workflow.domain import commands as c
from workflow.entrypoints.cli import cli

ENGLISH_COORDINATOR = "en@munsan-high.kr"


@pytest.fixture
def env(database_url: str) -> dict[str, str]:
    bus = bootstrap(make_settings(database_url))
    s.seed(bus)
    bus.handle(
        c.AddUser(
            actor=None,
            email=ENGLISH_COORDINATOR,
            name="Jane Park",
            org="munsan-high",
            roles=("coordinator",),
            locale="en",
        )
    )
    return {"JOINTFLOW_DATABASE_URL": database_url, "JOINTFLOW_NOW": "2026-02-02T09:00:00+09:00"}


def jf(env: dict[str, str], *argv: str, lang: str | None = None, code: int = 0) -> Result:
    result = run_in_process(argv, env, lang=lang)
    assert result.code == code, result
    return result


CREATE = [
    *("program", "create", "--org", "munsan-high", "--title", "연계", "--category", "linkage"),
    *("--request", "city=80000000", "--request", "education_office=20000000", "--year", "2026"),
]


def test_the_command_line_speaks_korean_by_default(env: dict[str, str]) -> None:
    created = jf(env, "--as", s.COORDINATOR, *CREATE)
    assert created.out.strip() == "사업 1 작성됨"
    submitted = jf(env, "--as", s.COORDINATOR, "program", "submit", "1")
    assert submitted.out.strip() == "사업 1 제출: 현재 상태 검토 중"
    report = jf(env, "budget", "report").out
    assert report.splitlines()[0].split() == [
        "기관",
        "연도",
        "금액",
        "가확보",
        "확정",
        "집행",
        "잔액",
        "반납",
        "예정",
    ]
    assert "19억 3,000만 원" in report and "8,000만 원" in report
    listed = jf(env, "program", "list").out
    assert "검토 중" in listed and "요청 금액" in listed
    refused = jf(env, "--as", s.COORDINATOR, "program", "decide", "1", "approve", code=1)
    assert refused.error_line == (
        f"jointflow: {s.COORDINATOR} 님에게는 사업 1 검토 결정 권한이 없습니다: 승인 담당자 "
        "역할이 필요합니다 (보유 역할: 사업 담당자)"
    )
    missing = jf(env, "program", "show", "99", code=1)
    assert missing.error_line == "jointflow: 사업 99이(가) 없습니다"


def test_lang_en_speaks_english(env: dict[str, str]) -> None:
    assert jf(env, "--as", s.COORDINATOR, *CREATE, lang="en").out.strip() == "program 1 created"
    report = jf(env, "budget", "report", lang="en").out
    assert report.splitlines()[0].split()[:3] == ["party", "year", "amount"]
    assert "₩1,930,000,000" in report
    refused = jf(env, "--as", s.COORDINATOR, "program", "decide", "1", "approve", lang="en", code=1)
    assert "may not decide on program 1: it needs the approver role" in refused.error_line


def test_without_lang_the_acting_users_locale_decides(env: dict[str, str]) -> None:
    english = jf(env, "--as", ENGLISH_COORDINATOR, *CREATE)
    assert english.out.strip() == "program 1 created"
    refused = jf(env, "--as", ENGLISH_COORDINATOR, "program", "withdraw", "7", code=1)
    assert refused.error_line == "jointflow: program 7 does not exist"
    korean_asked = jf(env, "--as", ENGLISH_COORDINATOR, *CREATE, lang="ko")
    assert korean_asked.out.strip() == "사업 2 작성됨"
    assert jf(env, "--as", s.COORDINATOR, *CREATE).out.strip() == "사업 3 작성됨"


def test_json_is_the_same_in_every_language(env: dict[str, str]) -> None:
    jf(env, "--as", s.COORDINATOR, *CREATE, "--json")
    jf(env, "--as", s.COORDINATOR, "program", "submit", "1", "--json")
    for argv in (
        ["budget", "report", "--json"],
        ["budget", "ledger", "--json"],
        ["program", "list", "--json"],
        ["program", "show", "1", "--json"],
        ["--as", s.CITY_APPROVER, "inbox", "--json"],
    ):
        outs = {jf(env, *argv, lang=lang).out for lang in (None, "ko", "en")}
        assert len(outs) == 1, argv
    [row] = jf(env, "program", "list", "--json").json
    assert row["state"] == "in_review" and row["requested"]["city"] == 80_000_000
    [hold, _] = jf(env, "budget", "ledger", "--json").json
    assert hold["kind"] == "hold" and hold["at"].endswith("+00:00")


def test_version_comes_from_the_package_metadata() -> None:
    result = run_in_process(["--version"], {}, lang=None)
    assert result.code == 0
    assert result.out.strip() == f"jointflow, version {version('jointflow')}"


def _commands(group: click.Group, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = [path]
    for name, command in sorted(group.commands.items()):
        if isinstance(command, click.Group):
            found += _commands(command, (*path, name))
        else:
            found.append((*path, name))
    return found


def _choices(path: tuple[str, ...]) -> list[tuple[str, list[str]]]:
    command: Any = cli
    for name in path:
        command = command.commands[name]
    return [
        (p.name or "", list(p.type.choices))
        for p in command.params
        if isinstance(p.type, click.Choice)
    ]


def test_every_option_with_a_closed_set_of_values_lists_them_in_help() -> None:
    checked = 0
    for path in _commands(cli):
        for name, choices in _choices(path):
            shown = run_in_process([*path, "--help"], {}, lang=None)
            assert shown.code == 0, shown
            flat = " ".join(shown.out.split())
            for choice in choices:
                assert str(choice) in flat, (path, name, choice)
            checked += 1
    assert checked >= 6
    top = " ".join(run_in_process(["--help"], {}, lang=None).out.split())
    assert "--lang [ko|en]" in top
    user_add = " ".join(run_in_process(["user", "add", "--help"], {}, lang=None).out.split())
    assert "budget_officer" in user_add and "[ko|en]" in user_add


def test_a_refusal_as_a_process_is_korean_and_one_line(env: dict[str, str]) -> None:
    result = run_subprocess(["--as", s.COORDINATOR, "program", "show", "42"], env, lang=None)
    assert result.code == 1
    assert result.err.strip() == "jointflow: 사업 42이(가) 없습니다"
