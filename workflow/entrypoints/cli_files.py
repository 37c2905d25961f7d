"""``jointflow program attach / files / file``: a program's documents from the command line.

The file is read here (at most one byte past the deployment's limit, so a file too big
is refused by the domain's own rule without being read whole); every rule about what
may be attached, when and by whom is the domain's.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from workflow.adapters import document_views
from workflow.domain import commands as c
from workflow.domain.documents import KINDS, PROPOSAL, spell_bytes
from workflow.entrypoints.cli_context import Context, json_option, pass_ctx
from workflow.entrypoints.cli_program import program
from workflow.entrypoints.cli_words import say
from workflow.entrypoints.output import emit_json, table
from workflow.entrypoints.params import FilePath


def read_upload(ctx: Context, path: Path) -> bytes:
    """The file's bytes, cut one past the limit (the domain then says it is too big)."""
    with path.open("rb") as source:
        return source.read(ctx.bus.uow.max_file_bytes + 1)


@program.command("attach")
@click.argument("program_id", type=int, metavar="ID")
@click.argument("path", type=FilePath(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--kind",
    type=click.Choice(KINDS),
    default=PROPOSAL,
    show_default=True,
    help="proposal: the proposal's files (draft or revision); report: the evaluation "
    "report's (while it is due).",
)
@click.option("--name", help="The name to keep it under (default: the file's own name).")
@json_option
@pass_ctx
def attach(
    ctx: Context, program_id: int, path: Path, kind: str, name: str | None, as_json: bool
) -> None:
    """Attach a file (PDF, HWP/HWPX, DOCX, XLSX, PNG, JPEG) to a program (coordinator)."""
    doc = ctx.handle(
        c.AttachDocument(
            actor=ctx.actor,
            program_id=program_id,
            name=name or path.name,
            content=read_upload(ctx, path),
            kind=kind,
        )
    )
    row = _row_of(ctx, program_id, doc.name)
    if as_json:
        emit_json(row)
        return
    click.echo(
        say(
            "program {id}: attached {name} ({kind}, round {round}, {size}, sha256 {digest})",
            id=program_id,
            name=doc.name,
            kind=say(kind),
            round=doc.round,
            size=spell_bytes(doc.size),
            digest=doc.sha256[:12],
        )  # fmt: skip
    )


@program.command("files")
@click.argument("program_id", type=int, metavar="ID")
@json_option
@pass_ctx
def files(ctx: Context, program_id: int, as_json: bool) -> None:
    """The files attached to a program (whoever may see the program)."""
    rows = ctx.view(lambda uow, who: document_views.program_files(uow, who, program_id))
    if as_json:
        emit_json(rows)
        return
    click.echo(files_table(rows) if rows else say("program {id} has no files", id=program_id))


def files_table(rows: list[dict[str, Any]]) -> str:
    return table(
        [
            (
                r["name"],
                say(r["kind"]),
                r["round"],
                spell_bytes(r["size"]),
                r["sha256"][:12],
                say("submitted") if r["sealed"] else say("open"),
                r["attached_by"],
            )
            for r in rows
        ],
        [say(h) for h in ("name", "kind", "round", "size", "sha256", "state", "by")],
    )


@program.command("file")
@click.argument("program_id", type=int, metavar="ID")
@click.argument("name")
@click.option(
    "--out",
    "out",
    required=True,
    type=FilePath(dir_okay=False, writable=True, path_type=Path),
    help="Where to write it (its SHA-256 is checked first).",
)
@json_option
@pass_ctx
def file(ctx: Context, program_id: int, name: str, out: Path, as_json: bool) -> None:
    """Download one of a program's files by its name."""
    row, content = ctx.view(
        lambda uow, who: document_views.file_content(uow, who, program_id, name)
    )
    out.write_bytes(content)
    if as_json:
        emit_json({**row, "out": str(out)})
        return
    click.echo(
        say(
            "wrote {name} ({size}, sha256 {digest}) to {out}",
            name=row["name"],
            size=spell_bytes(row["size"]),
            digest=row["sha256"][:12],
            out=out,
        )  # fmt: skip
    )


def _row_of(ctx: Context, program_id: int, name: str) -> dict[str, Any]:
    rows = ctx.view(lambda uow, who: document_views.program_files(uow, who, program_id))
    return next(r for r in rows if r["name"] == name)
