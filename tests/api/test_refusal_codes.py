"""A refusal's problem details carry its stable ``code`` (the domain's reason) beside the
English ``detail``, so a client can word it in its reader's language (issue 16)."""

from __future__ import annotations

from tests import support as s
from tests.api.helpers import PROGRAM, Api


def test_a_refusal_names_its_code_and_keeps_the_english_detail(api: Api) -> None:
    pid = api.ok(api.post("/programs", s.COORDINATOR, PROGRAM), 201)["id"]
    refused = api.post(f"/programs/{pid}/decisions", s.COORDINATOR, {"decision": "approve"})
    assert refused.status_code == 403, refused.text
    body = refused.json()
    assert body["type"] == "urn:jointflow:problem:not-permitted"
    assert body["code"] == "role_missing" and body["role"] == "approver"
    assert "needs the approver role" in body["detail"]
    missing = api.get("/programs/999999", s.COORDINATOR)
    assert missing.status_code == 404
    assert missing.json()["code"] == "no_program" and missing.json()["program"] == 999999
