"""Attached documents through the real bus, on SQLite and PostgreSQL, with the database
store and the directory store: attach, list, download (digest checked), remove while the
round is open, kept once submitted; refusals change nothing and are audited."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from tests import support as s
from tests.conftest import make_settings
from tests.unit.test_documents import HWP, JPEG, PDF, PNG, XLSX
from workflow.adapters import document_views
from workflow.adapters.orm import document_blobs
from workflow.bootstrap import bootstrap
from workflow.domain import commands as c
from workflow.domain import events as ev
from workflow.domain.documents import FileCorrupted
from workflow.domain.errors import (
    Conflict,
    InvalidInput,
    NotFound,
    NotPermitted,
    TransitionNotAllowed,
    WorkflowError,
)
from workflow.domain.events import program_stream
from workflow.service_layer.messagebus import MessageBus
from workflow.service_layer.scheduler import run_due_work

EVALUATOR = "eval@paju.go.kr"
START = datetime(2026, 1, 5, 0, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.at = START

    def __call__(self) -> datetime:
        return self.at


@pytest.fixture(params=["database", "directory"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Path | None:
    if request.param == "database":
        return None
    root = tmp_path / "files"
    root.mkdir()
    return root


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def bus(database_url: str, store: Path | None, clock: Clock) -> MessageBus:
    settings = make_settings(database_url, file_store=store, max_file_bytes=64 * 1024)
    bus = bootstrap(settings, clock=clock)
    s.seed(bus)
    bus.handle(
        c.AddUser(actor=None, email=EVALUATOR, name="eval", org="city", roles=("evaluator",))
    )
    return bus


def attach(bus: MessageBus, pid: int, name: str, content: bytes, kind: str = "proposal",
           actor: str = s.COORDINATOR) -> Any:  # fmt: skip
    return bus.handle(
        c.AttachDocument(actor=actor, program_id=pid, name=name, content=content, kind=kind)
    )


def files(bus: MessageBus, pid: int, who: str | None = None) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = bus.view(
        lambda uow, v: document_views.program_files(uow, v, pid), who
    )
    return found


def download(bus: MessageBus, pid: int, name: str, who: str | None = None) -> bytes:
    _row, content = bus.view(lambda uow, v: document_views.file_content(uow, v, pid, name), who)
    return bytes(content)


def refusals(bus: MessageBus, pid: int) -> list[dict[str, Any]]:
    return [
        json.loads(r.data)
        for r in s.history(bus, program_stream(pid))
        if r.type == ev.ACTION_REFUSED
    ]


def test_a_coordinator_attaches_files_and_the_programs_people_list_and_download_them(
    bus: MessageBus, store: Path | None
) -> None:
    pid = s.create(bus)
    doc = attach(bus, pid, "사업계획서.pdf", PDF)
    assert (doc.round, doc.size, doc.sha256) == (1, len(PDF), hashlib.sha256(PDF).hexdigest())
    attach(bus, pid, "budget.xlsx", XLSX)
    attach(bus, pid, "계획.hwp", HWP)
    rows = files(bus, pid, s.COORDINATOR)
    assert [(r["name"], r["kind"], r["content_type"], r["sealed"]) for r in rows] == [
        ("사업계획서.pdf", "proposal", "application/pdf", False),
        ("budget.xlsx", "proposal",
         "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", False),
        ("계획.hwp", "proposal", "application/x-hwp", False),
    ]  # fmt: skip
    assert download(bus, pid, "사업계획서.pdf", s.COORDINATOR) == PDF
    assert download(bus, pid, "사업계획서.PDF") == PDF  # names match without regard to case
    # A draft is its school's: the city sees neither it nor its files.
    with pytest.raises(NotFound):
        files(bus, pid, s.CITY_APPROVER)
    bus.handle(c.SubmitProgram(actor=s.COORDINATOR, program_id=pid))
    for who in (s.CITY_APPROVER, s.OE_APPROVER, s.CITY_OFFICER, EVALUATOR, s.ADMIN):
        assert [r["name"] for r in files(bus, pid, who)] == [
            "사업계획서.pdf",
            "budget.xlsx",
            "계획.hwp",
        ]
        assert download(bus, pid, "계획.hwp", who) == HWP
    assert all(r["sealed"] for r in files(bus, pid))
    assert [f["name"] for f in s.detail(bus, pid)["files"]] == [r["name"] for r in rows]
    attached = [r for r in s.history(bus, program_stream(pid)) if r.type == ev.DOCUMENT_ATTACHED]
    assert attached[0].actor == s.COORDINATOR
    assert json.loads(attached[0].data) == {
        "name": "사업계획서.pdf", "kind": "proposal", "round": 1, "size": len(PDF),
        "sha256": hashlib.sha256(PDF).hexdigest(), "content_type": "application/pdf",
    }  # fmt: skip
    if store is not None:
        digest = hashlib.sha256(PDF).hexdigest()
        assert (store / digest[:2] / digest).read_bytes() == PDF
        assert not [p for p in store.rglob(".incoming-*")]


def test_another_schools_program_and_its_files_are_not_found(bus: MessageBus) -> None:
    pid = s.create(bus)
    attach(bus, pid, "a.pdf", PDF)
    for program_id in (pid, s.submitted(bus)):
        before = s.stored(bus)
        with pytest.raises(NotFound):
            attach(bus, program_id, "b.pdf", PDF, actor=s.OTHER_COORDINATOR)
        with pytest.raises(NotFound):
            files(bus, program_id, s.OTHER_COORDINATOR)
        with pytest.raises(NotFound):
            download(bus, pid, "a.pdf", s.OTHER_COORDINATOR)
        with pytest.raises(NotFound):
            bus.handle(c.RemoveDocument(actor=s.OTHER_COORDINATOR, program_id=pid, name="a.pdf"))
        assert s.stored(bus) == before
    assert [r["code"] for r in refusals(bus, pid)] == ["not-found", "not-found", "not-found"]


@pytest.mark.parametrize(
    ("name", "content", "error", "words"),
    [
        ("big.pdf", PDF + bytes(64 * 1024), InvalidInput, "larger than the limit of 64 KB"),
        ("사업계획서.pdf", b"MZ not a pdf at all", InvalidInput, "its name says a PDF document"),
        ("photo.pdf", PNG, InvalidInput, "its content is a PNG image"),
        ("empty.pdf", b"", InvalidInput, "empty"),
        ("../", PDF, InvalidInput, "no name left"),
    ],
)
def test_a_file_too_big_or_not_what_its_name_says_is_refused_changing_nothing(
    bus: MessageBus, name: str, content: bytes, error: type[WorkflowError], words: str
) -> None:
    pid = s.create(bus)
    before = s.stored(bus)
    with pytest.raises(error, match=words):
        attach(bus, pid, name, content)
    assert s.stored(bus) == before
    assert [r["command"] for r in refusals(bus, pid)] == ["AttachDocument"]
    assert words in refusals(bus, pid)[0]["reason"]


def test_a_second_file_of_the_same_name_is_refused(bus: MessageBus) -> None:
    pid = s.create(bus)
    attach(bus, pid, "사업계획서.pdf", PDF)
    before = s.stored(bus)
    with pytest.raises(Conflict, match="already has a file named 사업계획서.pdf"):
        attach(bus, pid, "사업계획서.PDF", PDF)
    assert s.stored(bus) == before


def test_files_of_a_submitted_round_stay_and_a_new_round_adds_its_own(bus: MessageBus) -> None:
    pid = s.create(bus)
    attach(bus, pid, "draft-note.png", PNG)
    bus.handle(c.RemoveDocument(actor=s.COORDINATOR, program_id=pid, name="draft-note.png"))
    attach(bus, pid, "plan.pdf", PDF)
    bus.handle(c.SubmitProgram(actor=s.COORDINATOR, program_id=pid))
    before = s.stored(bus)
    with pytest.raises(TransitionNotAllowed, match="cannot attach proposal files"):
        attach(bus, pid, "late.jpg", JPEG)
    with pytest.raises(TransitionNotAllowed, match="kept as submitted"):
        bus.handle(c.RemoveDocument(actor=s.COORDINATOR, program_id=pid, name="plan.pdf"))
    assert s.stored(bus) == before
    assert [r["code"] for r in refusals(bus, pid)] == ["transition-not-allowed"] * 2
    s.decide(bus, pid, s.CITY_APPROVER, "request-changes")
    added = attach(bus, pid, "annex.jpg", JPEG)
    assert added.round == 2
    with pytest.raises(TransitionNotAllowed, match="kept as submitted"):
        bus.handle(c.RemoveDocument(actor=s.COORDINATOR, program_id=pid, name="plan.pdf"))
    bus.handle(c.RemoveDocument(actor=s.COORDINATOR, program_id=pid, name="annex.jpg"))
    attach(bus, pid, "annex.jpg", JPEG)
    bus.handle(c.SubmitProgram(actor=s.COORDINATOR, program_id=pid))
    rows = files(bus, pid)
    assert [(r["name"], r["round"], r["sealed"]) for r in rows] == [
        ("plan.pdf", 1, True),
        ("annex.jpg", 2, True),
    ]
    kinds = Counter(r.type for r in s.history(bus, program_stream(pid)))
    assert (kinds[ev.DOCUMENT_ATTACHED], kinds[ev.DOCUMENT_REMOVED]) == (4, 2)


def test_only_the_coordinator_attaches_and_reviewers_may_not(bus: MessageBus) -> None:
    pid = s.submitted(bus)
    s.decide(bus, pid, s.CITY_APPROVER, "request-changes")
    with pytest.raises(NotPermitted, match="coordinator role"):
        attach(bus, pid, "a.pdf", PDF, actor=s.CITY_APPROVER)


def test_a_report_file_is_attached_while_the_report_is_due_and_kept_once_submitted(
    bus: MessageBus, clock: Clock
) -> None:
    pid = s.create(bus, start=date(2026, 3, 2), end=date(2026, 11, 30))
    with pytest.raises(TransitionNotAllowed, match="they are attached in: evaluation_due"):
        attach(bus, pid, "report.pdf", PDF, kind="report")
    bus.handle(c.SubmitProgram(actor=s.COORDINATOR, program_id=pid))
    s.decide(bus, pid, s.CITY_APPROVER)
    s.decide(bus, pid, s.OE_APPROVER)
    bus.handle(c.CommitFunds(actor=s.CITY_OFFICER, program_id=pid))
    bus.handle(c.CommitFunds(actor=s.OE_OFFICER, program_id=pid))
    for at in (datetime(2026, 3, 1, 15, 0, tzinfo=UTC), datetime(2026, 11, 30, 15, 0, tzinfo=UTC)):
        clock.at = at
        run_due_work(bus)
    assert s.detail(bus, pid)["state"] == "evaluation_due"
    assert attach(bus, pid, "결과보고서.pdf", PDF, kind="report").round == 1
    nothing_spent = {"city": 0, "education_office": 0}
    bus.handle(
        c.SubmitReport(actor=s.COORDINATOR, program_id=pid, spent=nothing_spent, summary="done")
    )
    with pytest.raises(TransitionNotAllowed):
        bus.handle(c.RemoveDocument(actor=s.COORDINATOR, program_id=pid, name="결과보고서.pdf"))
    assert files(bus, pid, EVALUATOR)[0]["sealed"] is True


def test_a_download_whose_bytes_changed_in_the_store_is_refused(
    bus: MessageBus, store: Path | None
) -> None:
    pid = s.create(bus)
    doc = attach(bus, pid, "plan.pdf", PDF)
    if store is None:
        s.in_transaction(
            bus,
            lambda uow: uow.conn.execute(update(document_blobs).values(content=PDF + b"tampered")),
        )
    else:
        (store / doc.sha256[:2] / doc.sha256).write_bytes(PDF + b"tampered")
    with pytest.raises(FileCorrupted, match="no longer matches its SHA-256"):
        download(bus, pid, "plan.pdf")


def test_removing_a_drafts_file_forgets_its_bytes_in_the_database(
    bus: MessageBus, store: Path | None
) -> None:
    pid = s.create(bus)
    attach(bus, pid, "plan.pdf", PDF)
    other = s.create(bus)
    attach(bus, other, "same-bytes.pdf", PDF)
    bus.handle(c.RemoveDocument(actor=s.COORDINATOR, program_id=pid, name="plan.pdf"))
    assert download(bus, other, "same-bytes.pdf") == PDF  # still named by another program
    bus.handle(c.RemoveDocument(actor=s.COORDINATOR, program_id=other, name="same-bytes.pdf"))
    if store is None:
        assert s.stored(bus)["document_blobs"] == []
