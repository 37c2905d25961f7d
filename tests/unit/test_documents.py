"""Documents without a database: what a file is by its bytes, what it may be named, and
when it is kept as submitted."""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from workflow.domain import documents as d
from workflow.domain.errors import Conflict, InvalidInput, NotPermitted, TransitionNotAllowed
from workflow.domain.permissions import User

COORDINATOR = User(1, "coord@munsan-high.kr", "김민지", "munsan-high", frozenset({"coordinator"}))
OTHER = User(2, "coord@paju-youth.kr", "이서준", "paju-youth", frozenset({"coordinator"}))
APPROVER = User(3, "approver@paju.go.kr", "박지훈", "city", frozenset({"approver"}))


def zipped(entries: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return out.getvalue()


PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n%%EOF\n"
PNG = d.PNG + b"\x00\x00\x00\rIHDR" + bytes(17)
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(20)
HWP = d.OLE2 + bytes(500) + b"HWP Document File" + bytes(100)
DOC = d.OLE2 + bytes(600)  # a Word 97 file: OLE2, but not HWP
HWPX = zipped({"mimetype": b"application/hwp+zip", "Contents/section0.xml": b"<hs/>"})
CT = '<Types><Override ContentType="application/vnd.openxmlformats-officedocument.{}"/></Types>'
DOCX = zipped({"[Content_Types].xml": CT.format("wordprocessingml.document.main+xml").encode()})
XLSX = zipped({"[Content_Types].xml": CT.format("spreadsheetml.sheet.main+xml").encode()})
PLAIN_ZIP = zipped({"readme.txt": b"hello"})

SAMPLES = {
    "pdf": PDF,
    "png": PNG,
    "jpeg": JPEG,
    "hwp": HWP,
    "hwpx": HWPX,
    "docx": DOCX,
    "xlsx": XLSX,
}


@pytest.mark.parametrize("key", sorted(SAMPLES))
def test_each_accepted_format_is_told_by_its_bytes(key: str) -> None:
    assert d.sniff(SAMPLES[key]) == key


@pytest.mark.parametrize(
    "content",
    [b"hello", b"", DOC, PLAIN_ZIP, b"PK\x03\x04broken zip", b"GIF89a", b"<html>"],
)
def test_what_is_none_of_the_formats_is_not_recognised(content: bytes) -> None:
    assert d.sniff(content) is None


@given(st.binary(max_size=200))
def test_sniffing_arbitrary_bytes_never_raises(content: bytes) -> None:
    assert d.sniff(content) in (None, *d.FORMATS)


@pytest.mark.parametrize(
    ("name", "key"),
    [("사업계획서.pdf", "pdf"), ("계획.HWP", "hwp"), ("계획.hwpx", "hwpx"), ("photo.jpg", "jpeg"),
     ("photo.JPEG", "jpeg"), ("budget.xlsx", "xlsx"), ("plan.docx", "docx"), ("a.png", "png")],
)  # fmt: skip
def test_a_file_whose_name_and_content_agree_is_accepted(name: str, key: str) -> None:
    fmt = d.check_file(name, SAMPLES[key], d.DEFAULT_MAX_BYTES)
    assert fmt.key == key


def test_a_pdf_by_name_that_is_not_one_by_content_is_refused_saying_so() -> None:
    with pytest.raises(InvalidInput, match="its name says a PDF document, but its content"):
        d.check_file("사업계획서.pdf", b"MZ\x90\x00 not a pdf", d.DEFAULT_MAX_BYTES)


def test_content_of_one_format_under_the_name_of_another_is_refused() -> None:
    with pytest.raises(InvalidInput, match=r"its content is a PNG image.*\.png"):
        d.check_file("report.pdf", PNG, d.DEFAULT_MAX_BYTES)
    with pytest.raises(InvalidInput, match="must end in .pdf"):
        d.check_file("report", PDF, d.DEFAULT_MAX_BYTES)


def test_an_ole2_file_that_is_not_hwp_is_refused_even_named_hwp() -> None:
    with pytest.raises(InvalidInput, match="none of the accepted formats"):
        d.check_file("plan.hwp", DOC, d.DEFAULT_MAX_BYTES)


def test_too_big_and_empty_are_refused() -> None:
    with pytest.raises(InvalidInput, match="larger than the limit of 1 KB"):
        d.check_file("a.pdf", PDF + bytes(1024), 1024)
    assert d.check_file("a.pdf", PDF, len(PDF)).key == "pdf"
    with pytest.raises(InvalidInput, match="empty"):
        d.check_file("a.pdf", b"", 1024)


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("../../etc/passwd.pdf", "passwd.pdf"),
        ("C:\\Users\\kim\\사업계획서.hwp", "사업계획서.hwp"),
        ("  보고서\x00\x1b[31m.pdf\n", "보고서[31m.pdf"),
        ("a\u200bb.pdf", "ab.pdf"),  # zero-width (Cf) dropped
        ("two   spaces.pdf", "two spaces.pdf"),
        ("\u1100\u1161.pdf", "가.pdf"),  # NFC: decomposed Hangul composed
    ],
)
def test_names_are_cleaned_of_paths_and_control_characters(raw: str, clean: str) -> None:
    assert d.clean_name(raw) == clean


@pytest.mark.parametrize("raw", ["", "/", "dir/..", " \x00 ", "x" * 256 + ".pdf"])
def test_a_name_with_nothing_left_or_too_long_is_refused(raw: str) -> None:
    with pytest.raises(InvalidInput):
        d.clean_name(raw)


@given(st.text(max_size=300))
def test_a_cleaned_name_has_no_separator_or_control_character(raw: str) -> None:
    try:
        name = d.clean_name(raw)
    except InvalidInput:
        return
    assert "/" not in name and "\\" not in name
    assert not any(ord(ch) < 32 or ord(ch) == 127 for ch in name)
    assert 0 < len(name) <= d.FILE_NAME_MAX and name == name.strip()


def test_names_are_unique_per_program_without_regard_to_case() -> None:
    d.ensure_unique(1, "보고서.pdf", ["계획.pdf"])
    with pytest.raises(Conflict, match="already has a file named 보고서.PDF"):
        d.ensure_unique(1, "보고서.pdf", ["보고서.PDF"])


# -- rounds ---------------------------------------------------------------------------


@dataclass
class P:
    state: str = "draft"
    review_round: int = 1
    evaluation_round: int = 0
    submitted_by: set[str] = field(default_factory=set)
    id: int | None = 7
    org: str = "munsan-high"
    created_by: str = COORDINATOR.email
    parties: tuple[str, ...] = ("city", "education_office")


def doc(kind: str, rnd: int, name: str = "a.pdf") -> d.Document:
    return d.Document(7, name, kind, rnd, "0" * 64, 10, "application/pdf", "x", datetime.now(UTC))


SUBMITTED = {COORDINATOR.email}
# (program, kind, the round open for attaching or None)
ROUND_TABLE = [
    (P(), "proposal", 1),
    (P(state="submitted", submitted_by=SUBMITTED), "proposal", None),
    (P(state="in_review", submitted_by=SUBMITTED), "proposal", None),
    (P(state="revision_requested", submitted_by=SUBMITTED), "proposal", 2),
    (P(state="in_review", review_round=2, submitted_by=SUBMITTED), "proposal", None),
    (P(state="revision_requested", review_round=2, submitted_by=SUBMITTED), "proposal", 3),
    (P(state="funded", submitted_by=SUBMITTED), "proposal", None),
    (P(state="withdrawn"), "proposal", None),
    (P(), "report", None),
    (P(state="active", submitted_by=SUBMITTED), "report", None),
    (P(state="evaluation_due", submitted_by=SUBMITTED), "report", 1),
    (P(state="under_evaluation", evaluation_round=1, submitted_by=SUBMITTED), "report", None),
    (P(state="evaluation_due", evaluation_round=1, submitted_by=SUBMITTED), "report", 2),
]


@pytest.mark.parametrize(("program", "kind", "expected"), ROUND_TABLE)
def test_the_round_files_attach_to_in_every_state(program: P, kind: str, expected: int) -> None:
    assert d.open_round(program, kind) == expected
    if expected is None:
        with pytest.raises(TransitionNotAllowed, match="cannot attach"):
            d.ensure_may_attach(COORDINATOR, program, kind)
    else:
        assert d.ensure_may_attach(COORDINATOR, program, kind) == expected


def test_a_file_of_a_submitted_round_is_sealed_and_a_new_round_may_add_and_remove() -> None:
    first = doc("proposal", 1)
    draft = P()
    assert not d.is_sealed(draft, first)
    d.ensure_may_remove(COORDINATOR, draft, first)
    in_review = P(state="in_review", submitted_by=SUBMITTED)
    assert d.is_sealed(in_review, first)
    revision = P(state="revision_requested", submitted_by=SUBMITTED)
    with pytest.raises(TransitionNotAllowed, match="kept as submitted"):
        d.ensure_may_remove(COORDINATOR, revision, first)
    second = doc("proposal", d.ensure_may_attach(COORDINATOR, revision, "proposal"), "b.pdf")
    d.ensure_may_remove(COORDINATOR, revision, second)
    resubmitted = P(state="in_review", review_round=2, submitted_by=SUBMITTED)
    assert d.is_sealed(resubmitted, second)


def test_a_report_file_is_sealed_once_the_report_is_submitted() -> None:
    report = doc("report", 1)
    assert not d.is_sealed(P(state="evaluation_due", submitted_by=SUBMITTED), report)
    returned = P(state="evaluation_due", evaluation_round=1, submitted_by=SUBMITTED)
    assert d.is_sealed(returned, report)
    with pytest.raises(TransitionNotAllowed):
        d.ensure_may_remove(COORDINATOR, returned, report)


def test_an_unsealed_file_of_a_program_no_longer_editable_is_not_removed() -> None:
    with pytest.raises(TransitionNotAllowed, match="it is withdrawn"):
        d.ensure_may_remove(COORDINATOR, P(state="withdrawn"), doc("proposal", 1))


def test_only_the_programs_own_coordinator_attaches_or_removes() -> None:
    with pytest.raises(NotPermitted, match="belongs to munsan-high"):
        d.ensure_may_attach(OTHER, P(), "proposal")
    with pytest.raises(NotPermitted, match="coordinator role"):
        d.ensure_may_attach(APPROVER, P(), "proposal")
    with pytest.raises(NotPermitted):
        d.ensure_may_remove(OTHER, P(), doc("proposal", 1))


def test_an_unknown_kind_is_refused_naming_the_kinds() -> None:
    with pytest.raises(InvalidInput, match="use: proposal, report"):
        d.ensure_may_attach(COORDINATOR, P(), "annex")


def test_a_zip_whose_telling_entry_is_huge_is_not_inflated_to_look() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", b" " * (d.ZIP_ENTRY_MAX + 1))
    assert d.sniff(out.getvalue()) is None
