"""The downloads through the real server: the program list, the budget report and a
program's audit trail, as XLSX (read back with openpyxl) and CSV (UTF-8 with a BOM).

The figures are checked against what a script reads on the same database (``budget
report --json``, the read models); visibility is the read models' own (another school's
draft is not found).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

import httpx
import pytest
from openpyxl import load_workbook

from tests import support as s
from tests.conftest import make_settings
from tests.e2e.runner import run_in_process
from tests.web.conftest import NOW, Site, http_as
from workflow.adapters import views
from workflow.bootstrap import bootstrap
from workflow.domain import commands as c
from workflow.service_layer.messagebus import MessageBus

BOM = b"\xef\xbb\xbf"
NAMES = {"Paju City": "city", "Paju Office of Education": "education_office"}
FIGURES = ("amount", "held", "committed", "disbursed", "available")


@dataclass
class Made:
    bus: MessageBus
    funded: int  # approved by both, committed by the city
    draft: int  # the coordinator's, never submitted
    formula: int  # a title that looks like a spreadsheet formula


@pytest.fixture(scope="module")
def made(site: Site) -> Iterator[Made]:
    bus = bootstrap(make_settings(site.database_url, now=NOW))

    def create(title: str, **requests: int) -> int:
        pid: int = bus.handle(c.CreateProgram(actor=s.COORDINATOR, title=title, org="munsan-high",
                                              category="linkage", requests=requests,
                                              year=s.YEAR))  # fmt: skip
        return pid

    funded = create("로봇 동아리", city=80_000_000, education_office=20_000_000)
    bus.handle(c.SubmitProgram(actor=s.COORDINATOR, program_id=funded))
    bus.handle(c.DecideReview(actor=s.CITY_APPROVER, program_id=funded, decision="approve",
                              comment="예산 산출 근거 확인"))  # fmt: skip
    s.decide(bus, funded, s.OE_APPROVER)
    bus.handle(c.CommitFunds(actor=s.CITY_OFFICER, program_id=funded))
    formula = create("=1+1 과학 캠프", city=5_000_000)
    bus.handle(c.SubmitProgram(actor=s.COORDINATOR, program_id=formula))
    yield Made(bus, funded, create("다른 학교가 보면 안 되는 초안", city=1_000_000), formula)


@pytest.fixture
def client(site: Site) -> Iterator[Any]:
    opened: list[httpx.Client] = []

    def as_(email: str) -> httpx.Client:
        opened.append(http_as(site, email))
        return opened[-1]

    yield as_
    for one in opened:
        one.close()


def xlsx_rows(response: httpx.Response) -> list[list[Any]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    sheet = load_workbook(io.BytesIO(response.content)).active
    assert sheet is not None
    return [[cell.value for cell in row] for row in sheet.iter_rows()]


def csv_rows(response: httpx.Response) -> list[list[str]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert response.content.startswith(BOM)
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


def filename(response: httpx.Response) -> str:
    """The file's name as a browser takes it (``filename*``, RFC 5987)."""
    disposition = response.headers["content-disposition"]
    assert disposition.startswith("attachment;")
    encoded = disposition.split("filename*=UTF-8''", 1)[1]
    return unquote(encoded)


@pytest.mark.parametrize("email", [s.ADMIN, s.CITY_OFFICER, s.OE_APPROVER])
def test_the_budget_export_holds_the_figures_of_budget_report_json(
    made: Made, site: Site, client: Any, email: str
) -> None:
    cli = run_in_process(["budget", "report", "--year", str(s.YEAR), "--json"],
                         {"JOINTFLOW_DATABASE_URL": site.database_url,
                          "JOINTFLOW_USER": email})  # fmt: skip
    assert cli.code == 0, cli
    expected = {row["party"]: row for row in cli.json}
    assert expected and any(row["held"] or row["committed"] for row in expected.values())
    http = client(email)

    book = http.get(f"/exports/budget.xlsx?year={s.YEAR}")
    header, *rows = xlsx_rows(book)
    assert header == ["기관", "회계연도", "예산액", "가확보", "확정", "집행", "잔액"]
    found = {NAMES[r[0]]: dict(zip(("year", *FIGURES), r[1:], strict=True)) for r in rows}
    assert found == {p: {k: row[k] for k in ("year", *FIGURES)} for p, row in expected.items()}
    sheet = load_workbook(io.BytesIO(book.content)).active
    assert sheet is not None
    assert all(isinstance(cell.value, int) and cell.number_format == "#,##0"
               for row in sheet.iter_rows(min_row=2, min_col=3) for cell in row)  # fmt: skip
    assert filename(book) == f"예산현황_{s.YEAR}.xlsx"

    header, *lines = csv_rows(http.get(f"/exports/budget.csv?year={s.YEAR}"))
    assert header[0] == "기관"
    assert {NAMES[r[0]]: [int(v) for v in r[1:]] for r in lines} == {
        p: [row["year"], *[row[k] for k in FIGURES]] for p, row in expected.items()
    }


def test_the_program_list_is_the_list_the_person_sees_and_reads_in_korean(
    made: Made, client: Any
) -> None:
    ids = {}
    for email in (s.OTHER_COORDINATOR, s.COORDINATOR):
        seen = made.bus.view(lambda uow, who: views.program_list(uow, who), email)
        response = client(email).get("/exports/programs.csv")
        header, *lines = csv_rows(response)
        assert header[:6] == ["번호", "사업명", "수행 기관", "분야", "회계연도", "상태"]
        ids[email] = [int(line[0]) for line in lines]
        assert ids[email] == [p["id"] for p in seen]
        assert filename(response) == "사업목록.csv"
        assert 'filename="programs.csv"' in response.headers["content-disposition"]
    assert made.draft in ids[s.COORDINATOR] and made.draft not in ids[s.OTHER_COORDINATOR]
    by_id = {int(line[0]): line for line in lines}  # the coordinator's own school's
    funded = dict(zip(header, by_id[made.funded], strict=True))
    assert (
        funded["사업명"] == "로봇 동아리" and funded["상태"] == "승인"
    )  # one funder committed so far
    assert funded["Paju City 요청 금액"] == "80000000"
    # Text that would be a formula stays text, in CSV and in XLSX alike.
    assert by_id[made.formula][1] == "'=1+1 과학 캠프"
    book = load_workbook(io.BytesIO(client(s.COORDINATOR).get("/exports/programs.xlsx").content))
    assert book.active is not None
    cells = [list(row) for row in book.active.iter_rows()]
    row = next(r for r in cells if r[0].value == made.formula)
    assert (row[1].value, row[1].data_type) == ("=1+1 과학 캠프", "s")
    assert row[[h.value for h in cells[0]].index("Paju City 요청 금액")].value == 5_000_000


def test_the_audit_trail_is_the_hash_chain_in_seoul_time(made: Made, client: Any) -> None:
    history = made.bus.view(
        lambda uow, who: views.program_history(uow, who, made.funded, chain=True), s.ADMIN
    )
    response = client(s.CITY_APPROVER).get(f"/programs/{made.funded}/audit.xlsx")
    header, *rows = xlsx_rows(response)
    assert header == ["순번", "일시 (서울)", "사건", "처리자", "내용 (JSON)", "스트림",
                      "이전 해시", "해시"]  # fmt: skip
    assert [r[0] for r in rows] == [e["seq"] for e in history]
    assert [(r[2], r[3], r[7]) for r in rows] == [(e["type"], e["actor"], e["hash"])
                                                  for e in history]  # fmt: skip
    assert all(r[1].endswith("+09:00") for r in rows)
    assert all(later[6] == earlier[7] for earlier, later in zip(rows, rows[1:], strict=False))
    assert any("예산 산출 근거 확인" in r[4] for r in rows)  # the JSON as written, not \\u escapes
    assert filename(response) == f"사업{made.funded}_감사기록.xlsx"

    header, *lines = csv_rows(client(s.CITY_APPROVER).get(f"/programs/{made.funded}/audit.csv"))
    assert [line[7] for line in lines] == [e["hash"] for e in history]


def test_what_is_not_seen_is_not_found_and_nobody_signed_out_downloads(
    made: Made, site: Site, client: Any
) -> None:
    other = client(s.OTHER_COORDINATOR)
    for fmt in ("xlsx", "csv"):
        assert other.get(f"/programs/{made.draft}/audit.{fmt}").status_code == 404
        assert other.get(f"/programs/99999/audit.{fmt}").status_code == 404
    assert client(s.COORDINATOR).get(f"/programs/{made.draft}/audit.csv").status_code == 200
    assert other.get("/exports/programs.pdf").status_code == 404
    anonymous = httpx.get(f"{site.base}/exports/budget.csv")
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login")


def test_english_speakers_get_english_columns_and_file_names(made: Made, client: Any) -> None:
    http = client(s.CITY_OFFICER)
    http.cookies.set("jf_lang", "en")
    response = http.get("/exports/programs.xlsx")
    header, *_ = xlsx_rows(response)
    assert header[:3] == ["No.", "Title", "Organization"]
    assert filename(response) == "programs.xlsx"
    assert filename(http.get(f"/programs/{made.funded}/audit.csv")) == (
        f"program-{made.funded}-audit.csv"
    )
