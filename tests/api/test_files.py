"""``/api/v1/programs/{id}/files``: upload (raw body), list, download with the right
type and an RFC 5987 name, removal of a draft's file; refusals are problem details that
change nothing."""

from __future__ import annotations

import base64
import hashlib
from urllib.parse import quote

import httpx

from tests import support as s
from tests.api.helpers import CITY_EVALUATOR, Api
from tests.api.test_contract import state_of
from tests.unit.test_documents import DOCX, PDF, PNG

OCTETS = "application/octet-stream"


def put(api: Api, pid: int, name: str, content: bytes, who: str = s.COORDINATOR,
        kind: str | None = None) -> httpx.Response:  # fmt: skip
    query = f"?kind={kind}" if kind else ""
    return api.client.put(
        f"/api/v1/programs/{pid}/files/{quote(name, safe='')}{query}",
        content=content,
        headers=api.auth(who, content_type=OCTETS),
    )


def test_upload_list_download_and_the_program_answer_lists_the_file(api: Api) -> None:
    pid = api.draft()
    made = put(api, pid, "사업계획서.pdf", PDF)
    assert made.status_code == 201, made.text
    row = made.json()
    assert row["name"] == "사업계획서.pdf" and row["size"] == len(PDF)
    assert row["sha256"] == hashlib.sha256(PDF).hexdigest() and row["sealed"] is False
    assert made.headers["location"] == f"/api/v1/programs/{pid}/files/{quote('사업계획서.pdf')}"
    assert put(api, pid, "plan.docx", DOCX).status_code == 201
    api.ok(api.post(f"/programs/{pid}/submit", s.COORDINATOR))
    for who in (s.CITY_APPROVER, s.OE_OFFICER, CITY_EVALUATOR):
        listed = api.ok(api.get(f"/programs/{pid}/files", who))
        assert [(f["name"], f["sealed"]) for f in listed] == [
            ("사업계획서.pdf", True),
            ("plan.docx", True),
        ]
    got = api.client.get(made.headers["location"], headers=api.auth(s.CITY_APPROVER))
    assert got.status_code == 200 and got.content == PDF
    assert got.headers["content-type"] == "application/pdf"
    assert got.headers["content-disposition"] == (
        "attachment; filename=\"_____.pdf\"; filename*=UTF-8''" + quote("사업계획서.pdf", safe="")
    )
    digest = base64.b64encode(hashlib.sha256(PDF).digest()).decode()
    assert got.headers["repr-digest"] == f"sha-256=:{digest}:"
    shown = api.ok(api.get(f"/programs/{pid}", s.CITY_APPROVER))
    assert [f["name"] for f in shown["files"]] == ["사업계획서.pdf", "plan.docx"]


def test_a_drafts_file_is_removed_and_a_submitted_one_is_refused(api: Api) -> None:
    pid = api.draft()
    put(api, pid, "a.png", PNG)
    gone = api.send("DELETE", f"/programs/{pid}/files/a.png", s.COORDINATOR)
    assert gone.status_code == 204
    assert api.ok(api.get(f"/programs/{pid}/files", s.COORDINATOR)) == []
    put(api, pid, "a.png", PNG)
    api.ok(api.post(f"/programs/{pid}/submit", s.COORDINATOR))
    before = state_of(api)
    kept = api.send("DELETE", f"/programs/{pid}/files/a.png", s.COORDINATOR)
    assert kept.status_code == 409 and "kept as submitted" in kept.json()["detail"]
    late = put(api, pid, "b.png", PNG)
    assert late.status_code == 409
    after = state_of(api)
    assert after.tables == before.tables and after.refusals == before.refusals + 2


def test_refusals_are_problem_details_and_change_nothing(api: Api) -> None:
    pid = api.draft()
    before = state_of(api)
    cases = [
        (put(api, pid, "계획.pdf", PNG), 422, "its content is a PNG image"),
        (put(api, pid, "계획.pdf", b"not a pdf"), 422, "its name says a PDF document"),
        (put(api, pid, "계획.pdf", PDF, who=s.OTHER_COORDINATOR), 404, "does not exist"),
        (put(api, pid, "계획.pdf", PDF, who=s.CITY_APPROVER), 404, "does not exist"),
        (put(api, pid, "계획.pdf", PDF, kind="report"), 409, "evaluation_due"),
        (put(api, pid, "계획.pdf", PDF, kind="annex"), 422, "kind"),
        (api.get(f"/programs/{pid}/files/none.pdf", s.COORDINATOR), 404, "no file named"),
        (api.get(f"/programs/{pid}/files", s.OTHER_COORDINATOR), 404, "does not exist"),
    ]
    for response, status, words in cases:
        assert response.status_code == status, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert words in response.json()["detail"], response.text
    after = state_of(api)
    assert after.tables == before.tables
    assert after.refusals == before.refusals + 5  # the refused commands (a read is not one)


def test_a_body_past_the_limit_is_refused_without_reading_it_all(api: Api) -> None:
    pid = api.draft()
    huge = PDF + bytes(api.bus.uow.max_file_bytes)
    refused = put(api, pid, "big.pdf", huge)
    assert refused.status_code == 422 and "larger than the limit of 20 MB" in refused.text
