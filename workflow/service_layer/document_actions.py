"""What a person may do with a program's documents right now, asked of the handlers.

Like ``actions``: one probe per kind of file to attach ("may they attach anything of
this kind now": the file is theirs to choose later) and one per file to remove, run by
``bus.allowed``, so a page offers exactly what the handlers would carry out.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from workflow.domain import commands as c
from workflow.domain.documents import FORMATS, KINDS, spell_bytes
from workflow.service_layer.messagebus import MessageBus


def document_actions(bus: MessageBus, actor: str, program: Mapping[str, Any]) -> dict[str, Any]:
    """``attach``: the kinds ``actor`` may attach now; ``remove``: the names they may
    remove; ``accept`` and ``limit``: what the upload form tells people beforehand."""
    pid = int(program["id"])
    names = [f["name"] for f in program.get("files", [])]
    probes: list[c.Command] = [
        c.AttachDocument(actor=actor, program_id=pid, name="-", content=b"", kind=kind)
        for kind in KINDS
    ]
    probes += [c.RemoveDocument(actor=actor, program_id=pid, name=name) for name in names]
    answers = bus.allowed(probes)
    return {
        "attach": [kind for kind, yes in zip(KINDS, answers, strict=False) if yes],
        "remove": {name for name, yes in zip(names, answers[len(KINDS) :], strict=True) if yes},
        "accept": ",".join(ext for f in FORMATS.values() for ext in f.extensions),
        "limit": spell_bytes(bus.uow.max_file_bytes),
    }
