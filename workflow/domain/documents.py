"""Documents attached to a program: what a file may be, what it is named, and when it is
kept as submitted.

Kinds: ``proposal`` (사업계획서 and its annexes, attached while the proposal is editable:
``draft`` or ``revision_requested``) and ``report`` (the evaluation report's files,
attached while the report is due: ``evaluation_due``).

Rounds. A file belongs to the round it will be submitted with. For a proposal that is
the review round the next submission opens: ``review_round`` in a draft (nothing was
submitted yet), ``review_round + 1`` in a revision (``submit`` counts rounds up only on
a resubmission). For a report it is the next report, ``evaluation_round + 1``. A file
whose round has been submitted is *sealed*: it is kept as it was submitted, never
changed or removed. A new round (changes requested, a report returned) may add files;
a file of the round still open may be removed by the coordinator.

Type by content: the first bytes say what a file is (``%PDF-``; OLE2 with an HWP
``FileHeader`` for HWP 5; a ZIP whose ``mimetype`` or ``[Content_Types].xml`` says
HWPX, DOCX or XLSX; PNG and JPEG signatures), and its name's extension must agree.

Names: the last path component, NFC, control characters and surrounding blanks
dropped, at most ``FILE_NAME_MAX`` characters; unique per program without regard to
case. A second file of a name already attached is refused (the name is how people ask
for a file: a silent suffix would leave them guessing which one they got).
"""

from __future__ import annotations

import io
import unicodedata
import zipfile
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from workflow.domain.errors import Conflict, InvalidInput, TransitionNotAllowed
from workflow.domain.permissions import User, ensure_member_of
from workflow.domain.program.content import EDITABLE_STATES
from workflow.domain.text import FILE_NAME_MAX, shown

PROPOSAL, REPORT = "proposal", "report"
KINDS = (PROPOSAL, REPORT)
# The states in which files of a kind are attached (and those of the open round removed).
ATTACHING_STATES = {PROPOSAL: EDITABLE_STATES, REPORT: ("evaluation_due",)}
DEFAULT_MAX_BYTES = 20 * 1024 * 1024  # 20 MiB per file
MAX_BYTES_LIMIT = 1024 * 1024 * 1024  # the most a deployment may allow (held in memory)

OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
HWP_HEADER = b"HWP Document File"  # the first bytes of an HWP 5 file's FileHeader stream
PNG = b"\x89PNG\r\n\x1a\n"
JPEG = b"\xff\xd8\xff"
ZIP = b"PK\x03\x04"
ZIP_ENTRY_MAX = 1024 * 1024  # the most of ``mimetype`` or ``[Content_Types].xml`` read


class FileCorrupted(Conflict):
    """A stored file no longer matches the SHA-256 recorded when it was attached."""

    code = "file-corrupted"


@dataclass(frozen=True)
class Format:
    key: str
    label: str  # for messages: "a PDF document"
    content_type: str
    extensions: tuple[str, ...]


FORMATS = {
    f.key: f
    for f in (
        Format("pdf", "a PDF document", "application/pdf", (".pdf",)),
        Format("hwp", "an HWP document", "application/x-hwp", (".hwp",)),
        Format("hwpx", "an HWPX document", "application/hwp+zip", (".hwpx",)),
        Format(
            "docx",
            "a Word document",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            (".docx",),
        ),
        Format(
            "xlsx",
            "an Excel workbook",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            (".xlsx",),
        ),
        Format("png", "a PNG image", "image/png", (".png",)),
        Format("jpeg", "a JPEG image", "image/jpeg", (".jpg", ".jpeg")),
    )
}
CONTENT_TYPES = tuple(dict.fromkeys(f.content_type for f in FORMATS.values()))
ALLOWED = ", ".join(ext for f in FORMATS.values() for ext in f.extensions)


@dataclass(frozen=True)
class Document:
    """One attached file as recorded: its bytes are the store's, named by ``sha256``."""

    program_id: int
    name: str
    kind: str
    round: int
    sha256: str
    size: int
    content_type: str
    attached_by: str
    attached_at: datetime


class RoundsLike(Protocol):
    """What the rules read of a program (the aggregate satisfies it)."""

    id: int | None
    org: str
    state: str
    created_by: str
    submitted_by: set[str]
    parties: tuple[str, ...]
    review_round: int
    evaluation_round: int


# -- what a file is ----------------------------------------------------------------------


def sniff(content: bytes) -> str | None:
    """The key of ``FORMATS`` the content is, by its bytes alone; None: none of them."""
    if content.startswith(b"%PDF-"):
        return "pdf"
    if content.startswith(PNG):
        return "png"
    if content.startswith(JPEG):
        return "jpeg"
    if content.startswith(OLE2):
        return "hwp" if HWP_HEADER in content else None  # a .doc or .xls is OLE2 too
    if content.startswith(ZIP):
        return _zip_format(content)
    return None


def _zip_format(content: bytes) -> str | None:
    """HWPX says so in its ``mimetype`` entry; DOCX and XLSX in ``[Content_Types].xml``."""
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            if _small_entry(archive, "mimetype") == b"application/hwp+zip":
                return "hwpx"
            types = _small_entry(archive, "[Content_Types].xml")
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError):
        return None
    if types is None:
        return None
    if b"wordprocessingml.document.main+xml" in types:
        return "docx"
    if b"spreadsheetml.sheet.main+xml" in types:
        return "xlsx"
    return None


def _small_entry(archive: zipfile.ZipFile, name: str) -> bytes | None:
    """An entry that says what the archive is, if present and small (a "zip bomb"'s huge
    entry is never inflated to look at it)."""
    try:
        info = archive.getinfo(name)
    except KeyError:
        return None
    if info.file_size > ZIP_ENTRY_MAX:
        return None
    return archive.read(info).strip()


def clean_name(raw: str) -> str:
    """The name a file is kept under: its last path component (either separator), NFC,
    without control characters or surrounding blanks. Refuses what is left empty or long."""
    base = unicodedata.normalize("NFC", raw).replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in base if unicodedata.category(ch) not in ("Cc", "Cf", "Cs"))
    name = " ".join(name.split())
    if name in ("", ".", ".."):
        raise InvalidInput(f"file name {shown(raw)} has no name left once cleaned", field="name")
    if len(name) > FILE_NAME_MAX:
        raise InvalidInput(
            f"file name is {len(name):,} characters long; at most {FILE_NAME_MAX} are kept",
            field="name",
            max_length=FILE_NAME_MAX,
        )
    return name


def name_key(name: str) -> str:
    """What makes two names the same file (``보고서.PDF`` and ``보고서.pdf`` are)."""
    return unicodedata.normalize("NFC", name).casefold()


def check_file(name: str, content: bytes, max_bytes: int) -> Format:
    """The format of a file people may attach; refused: empty, too big, not one of the
    formats by its content, or named as another format than it is."""
    if not content:
        raise InvalidInput(f"{name} is empty", field="content")
    if len(content) > max_bytes:
        raise InvalidInput(
            f"{name} is larger than the limit of {spell_bytes(max_bytes)} per file",
            field="content",
            max_bytes=max_bytes,
        )
    found = sniff(content)
    extension = "." + name.rsplit(".", 1)[-1].casefold() if "." in name else ""
    claimed = next((f for f in FORMATS.values() if extension in f.extensions), None)
    if found is None:
        said = f"its name says {claimed.label}, but " if claimed else ""
        raise InvalidInput(
            f"{name}: {said}its content is none of the accepted formats ({ALLOWED})",
            field="content",
        )
    fmt = FORMATS[found]
    if claimed is not fmt:
        raise InvalidInput(
            f"{name}: its content is {fmt.label}, so its name must end in "
            f"{' or '.join(fmt.extensions)}",
            field="name",
        )
    return fmt


def spell_bytes(size: int) -> str:
    """``20 MB``, ``512 KB``, ``900 bytes`` (binary units, as file managers count)."""
    for unit, scale in (("MB", 1024 * 1024), ("KB", 1024)):
        if size >= scale:
            value = size / scale
            return (
                f"{value:.0f} {unit}"
                if value >= 10 or value == int(value)
                else f"{value:.1f} {unit}"
            )
    return f"{size} bytes"


# -- when a file may be attached or removed ----------------------------------------------


def check_kind(kind: str) -> str:
    if kind not in KINDS:
        raise InvalidInput(f"unknown file kind {shown(kind)} (use: {', '.join(KINDS)})")
    return kind


def submitted_rounds(program: RoundsLike, kind: str) -> int:
    """How many rounds of ``kind`` have been submitted."""
    if kind == PROPOSAL:
        return program.review_round if program.submitted_by else 0
    return program.evaluation_round


def open_round(program: RoundsLike, kind: str) -> int | None:
    """The round files of ``kind`` attach to now; None: none is open in this state."""
    if program.state not in ATTACHING_STATES[kind]:
        return None
    return submitted_rounds(program, kind) + 1


def is_sealed(program: RoundsLike, doc: Document) -> bool:
    """Attached to a round that has been submitted: kept as it is, for good."""
    return doc.round <= submitted_rounds(program, doc.kind)


def ensure_may_attach(user: User, program: RoundsLike, kind: str) -> int:
    """The round a file of ``kind`` would join: the coordinator of the program's own
    organization, while that kind's round is open."""
    check_kind(kind)
    ensure_member_of(user, program, "coordinator", f"attach files to program {program.id}")
    found = open_round(program, kind)
    if found is None:
        raise TransitionNotAllowed(
            f"cannot attach {kind} files to program {program.id}: it is {program.state} "
            f"(they are attached in: {', '.join(ATTACHING_STATES[kind])})",
            program=program.id,
            state=program.state,
        )
    return found


def ensure_unique(program_id: int | None, name: str, taken: list[str]) -> None:
    key = name_key(name)
    clash = next((t for t in taken if name_key(t) == key), None)
    if clash is not None:
        raise Conflict(
            f"program {program_id} already has a file named {clash}; rename the new one"
            " (or remove the old one while its round is open)",
            program=program_id,
            name=clash,
        )


def ensure_may_remove(user: User, program: RoundsLike, doc: Document) -> None:
    """Only a file of the round still open, by its coordinator; a submitted one stays."""
    ensure_member_of(user, program, "coordinator", f"remove files of program {program.id}")
    if is_sealed(program, doc):
        raise TransitionNotAllowed(
            f"cannot remove {doc.name} from program {program.id}: it was submitted with "
            f"{doc.kind} round {doc.round} and is kept as submitted",
            program=program.id,
            name=doc.name,
        )
    if open_round(program, doc.kind) != doc.round:
        raise TransitionNotAllowed(
            f"cannot remove {doc.name} from program {program.id}: it is {program.state}",
            program=program.id,
            state=program.state,
        )


def document_data(doc: Document) -> dict[str, object]:
    """What the audit trail keeps of a file (never its bytes)."""
    return {
        "name": doc.name,
        "kind": doc.kind,
        "round": doc.round,
        "sha256": doc.sha256,
        "size": doc.size,
        "content_type": doc.content_type,
    }
