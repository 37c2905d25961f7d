"""The command line's words without a database: every template it says has Korean, every
refusal reason raised has a Korean sentence filled from the values its raise gives, tables
stay aligned with Hangul in them, and amounts and times read as people write them."""

from __future__ import annotations

import ast
import string
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest

from workflow.domain.errors import NotPermitted, TransitionNotAllowed
from workflow.domain.permissions import User, require_role
from workflow.entrypoints import cli_words
from workflow.entrypoints.cli_words import KO, money, say, when
from workflow.entrypoints.output import display_width, table
from workflow.entrypoints.refusals import KO as REFUSALS_KO
from workflow.entrypoints.refusals import refusal_text

ROOT = Path(__file__).resolve().parents[2]
CLI_MODULES = [
    p
    for p in (ROOT / "workflow" / "entrypoints").glob("*.py")
    if p.name.startswith("cli") or p.name == "output.py"
]


def _said(tree: ast.AST) -> set[str]:
    """Every literal ``say("...")`` and every literal a ``say(h) for h in (...)`` reads."""
    found = set()
    for node in ast.walk(tree):
        if _is_say(node) and isinstance(node.args[0], ast.Constant):  # type: ignore[attr-defined]
            found.add(node.args[0].value)  # type: ignore[attr-defined]
        if isinstance(node, ast.ListComp | ast.GeneratorExp) and _is_say(node.elt):
            for loop in node.generators:
                if isinstance(loop.iter, ast.Tuple | ast.List):
                    found |= {e.value for e in loop.iter.elts if isinstance(e, ast.Constant)}
        headers = isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "headers" for t in node.targets
        )
        if headers and isinstance(node.value, ast.List):  # type: ignore[attr-defined]
            found |= {e.value for e in node.value.elts if isinstance(e, ast.Constant)}  # type: ignore[attr-defined]
    return found


def _is_say(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Call) and getattr(node.func, "id", None) == "say" and bool(node.args)
    )


def test_every_template_the_command_line_says_has_korean() -> None:
    said = set().union(*(_said(ast.parse(p.read_text())) for p in CLI_MODULES))
    assert "program {id} created" in said
    assert sorted(said - set(KO)) == []


def test_each_korean_template_keeps_the_english_ones_names() -> None:
    for english, korean in KO.items():
        names = {f for _, f, _, _ in string.Formatter().parse(english) if f}
        assert {f for _, f, _, _ in string.Formatter().parse(korean) if f} == names, english


ERRORS = {
    "WorkflowError",
    "InvalidInput",
    "NotFound",
    "NotPermitted",
    "TransitionNotAllowed",
    "Conflict",
    "PreconditionFailed",
    "InsufficientBudget",
    "AuditBroken",
}


def _called(node: ast.Call) -> str:
    func = node.func
    return func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")


def _raised_reasons() -> dict[str, set[str]]:
    """reason code -> the context names its raises give, over every module of workflow/."""
    reasons: dict[str, set[str]] = {}
    for path in (ROOT / "workflow").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call) or _called(node) not in ERRORS:
                continue
            given = {k.arg: k.value for k in node.keywords if k.arg}
            reason = given.get("reason")
            if isinstance(reason, ast.Constant) and isinstance(reason.value, str):
                names = reasons.setdefault(reason.value, set())
                names |= set(given) - {"reason"}
    return reasons


def test_every_refusal_reason_raised_has_a_korean_sentence() -> None:
    raised = _raised_reasons()
    assert len(raised) > 50
    without_korean = sorted(set(raised) - set(REFUSALS_KO))
    assert without_korean == [], f"refusal reasons without Korean: {without_korean}"


def test_each_korean_refusal_names_only_values_its_raise_gives() -> None:
    raised = _raised_reasons()
    for reason, names in raised.items():
        if reason in ("task_taken", "task_closed", "not_your_claim"):
            names = names | {"task", "claimant", "state", "user"}  # given as **context
        wanted = {f for _, f, _, _ in string.Formatter().parse(REFUSALS_KO[reason]) if f}
        assert wanted <= names, (reason, wanted - names)


def _approver() -> User:
    return User(1, "kim@paju.go.kr", "김민지", "city", frozenset({"coordinator"}))


def test_a_refusal_reads_in_korean_with_its_values_in_korean() -> None:
    with pytest.raises(NotPermitted) as refused:
        require_role(_approver(), "approver", "decide on program 7")
    err = refused.value
    assert err.reason == "role_missing"
    assert refusal_text(err, "ko") == (
        "kim@paju.go.kr 님에게는 사업 7 검토 결정 권한이 없습니다: 승인 담당자 역할이 "
        "필요합니다 (보유 역할: 사업 담당자)"
    )
    assert refusal_text(err, "en") == err.message
    assert "approver role" in err.message


def test_a_refusal_without_korean_or_with_values_it_cannot_read_falls_back_to_english() -> None:
    plain = TransitionNotAllowed("cannot frobnicate program 3")
    assert refusal_text(plain, "ko") == "cannot frobnicate program 3"
    odd = NotPermitted("x may not juggle", reason="role_missing", user="x", action="juggle")
    assert refusal_text(odd, "ko") == "x may not juggle"


def test_a_table_with_hangul_stays_aligned_by_display_width() -> None:
    headers = ["번호", "state", "기관", "금액"]
    rows = [("1", "검토 중", "munsan-high", "8,000만 원"), ("12", "draft", "파주시", "₩5")]
    lines = table(rows, headers).splitlines()
    offsets = [
        _offsets(line, cells)
        for line, cells in zip(lines[::2][:1] + lines[2:], [headers, *rows], strict=True)
    ]
    assert offsets[0] == offsets[1] == offsets[2] == [0, 6, 15, 28], lines
    assert display_width(lines[0]) <= display_width(lines[1])  # the rule spans the header


def _offsets(line: str, cells: Sequence[str]) -> list[int]:
    """The display column each cell starts at on ``line``."""
    found, pos = [], 0
    for cell in cells:
        at = line.index(cell, pos)
        found.append(display_width(line[:at]))
        pos = at + len(cell)
    return found


def test_display_width_counts_hangul_twice_and_combining_marks_never() -> None:
    assert display_width("검토 중") == 7
    assert display_width("abc") == 3
    assert display_width("e\u0301") == 1


@pytest.mark.parametrize(
    ("lang", "amount", "expected"),
    [("ko", 1_930_000_000, "19억 3,000만 원"), ("en", 1_930_000_000, "₩1,930,000,000")],
)
def test_amounts_are_written_as_people_write_them(lang: str, amount: int, expected: str) -> None:
    cli_words.use(lambda: lang)
    try:
        assert money(amount) == expected
    finally:
        cli_words.use(None)


def test_times_are_seoul_times_marked_as_such() -> None:
    assert when(datetime(2026, 3, 4, 5, 0, tzinfo=UTC)) == "2026-03-04 14:00 (KST)"
    assert when("2026-03-04T05:00:00+00:00") == "2026-03-04 14:00 (KST)"
    assert when(None) == "-"


def test_say_is_korean_by_default_and_english_when_asked() -> None:
    cli_words.use(None)
    assert say("program {id} created", id=3) == "사업 3 작성됨"
    cli_words.use(lambda: "en")
    try:
        assert say("program {id} created", id=3) == "program 3 created"
        assert say("a line nobody translated") == "a line nobody translated"
    finally:
        cli_words.use(None)
