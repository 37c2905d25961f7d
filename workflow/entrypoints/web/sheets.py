"""Rows to XLSX or CSV bytes: the one writer behind every download, and its response.

Amounts (the columns a ``Sheet`` names in ``money``) stay integers: number-formatted
``#,##0`` in XLSX, plain digits in CSV. CSV is UTF-8 with a byte-order mark, which is
how Excel knows to read Korean text as UTF-8. Text never becomes a formula: XLSX cells
keep it as a string; a CSV cell that would start one (``= + - @``) gets the leading
apostrophe Excel itself uses for such text.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from urllib.parse import quote

from fastapi.responses import Response
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font

Value = str | int | None
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_TYPE = "text/csv; charset=utf-8"
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
SHEET_NAME_BAD = str.maketrans({ch: " " for ch in "[]:*?/\\"})


@dataclass(frozen=True)
class Sheet:
    title: str
    headers: Sequence[str]
    rows: Sequence[Sequence[Value]]
    money: frozenset[int] = field(default_factory=frozenset)  # column indexes in KRW


def xlsx_bytes(sheet: Sheet) -> bytes:
    book = Workbook()
    ws = book.active
    assert ws is not None  # a new workbook has its one sheet
    ws.title = sheet.title.translate(SHEET_NAME_BAD)[:31] or "Sheet"
    ws.append(list(sheet.headers))
    for cell in ws[1]:
        cell.font = Font(bold=True)
    ws.freeze_panes = "A2"
    for values in sheet.rows:
        ws.append([ILLEGAL_CHARACTERS_RE.sub("", v) if isinstance(v, str) else v
                   for v in values])  # fmt: skip
        for index, cell in enumerate(ws[ws.max_row]):
            if isinstance(cell.value, str):
                cell.data_type = "s"  # "=..." is a title someone typed, not a formula
            elif index in sheet.money:
                cell.number_format = "#,##0"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def csv_bytes(sheet: Sheet) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(sheet.headers)
    writer.writerows([_csv_cell(v) for v in values] for values in sheet.rows)
    return out.getvalue().encode("utf-8-sig")


def _csv_cell(value: Value) -> str:
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return str(value)


WRITERS = {"xlsx": (xlsx_bytes, XLSX_TYPE), "csv": (csv_bytes, CSV_TYPE)}


def download(sheet: Sheet, fmt: str, name: str, ascii_name: str) -> Response:
    """The sheet as a file: ``name`` (the person's language) in ``filename*`` (RFC 5987),
    ``ascii_name`` for clients that only read ``filename``."""
    write, media_type = WRITERS[fmt]
    disposition = (
        f'attachment; filename="{ascii_name}.{fmt}"; '
        f"filename*=UTF-8''{quote(f'{name}.{fmt}', safe='')}"
    )
    headers = {"Content-Disposition": disposition, "Cache-Control": "private, no-store"}
    return Response(write(sheet), media_type=media_type, headers=headers)
