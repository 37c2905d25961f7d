"""The application's frame: health, readiness, the contract, tokens and problem details."""

from __future__ import annotations

import importlib
import json
import logging
import subprocess
import sys
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests import support as s
from tests.api.helpers import Api
from tests.conftest import make_settings
from workflow.adapters.orm import api_tokens
from workflow.domain import commands as c
from workflow.domain.program import DECISIONS
from workflow.domain.tokens import token_hash
from workflow.entrypoints.api import create_app
from workflow.entrypoints.api.schemas import DecisionName


def test_importing_the_api_opens_nothing_and_builds_no_app() -> None:
    code = (
        "import sys, workflow.entrypoints.api as api; "
        "assert 'workflow.bootstrap' not in sys.modules; "
        "assert 'fastapi' not in sys.modules; print('ok')"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.stdout.strip() == "ok", done.stderr


def test_health_is_up_and_ready_on_the_embedded_default(api: Api) -> None:
    assert api.client.get("/healthz").json() == {"status": "ok"}
    ready = api.client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": True}


def test_readiness_names_the_broker_when_it_is_down(database_url: str) -> None:
    settings = make_settings(database_url, broker_url="redis://127.0.0.1:1/0")
    with TestClient(create_app(settings)) as client:
        ready = client.get("/readyz")
    assert ready.status_code == 503
    assert ready.json()["down"] == ["broker"]
    assert ready.json()["checks"] == {"database": True, "broker": False}


def test_readiness_names_the_database_when_it_is_down(tmp_path: object) -> None:
    settings = make_settings("postgresql+psycopg://nobody@127.0.0.1:1/none")
    with TestClient(create_app(settings)) as client:
        ready = client.get("/readyz")
    assert ready.status_code == 503 and ready.json()["down"] == ["database"]


def test_the_contract_and_the_docs_are_served(api: Api) -> None:
    spec = api.client.get("/api/v1/openapi.json").json()
    assert spec["openapi"].startswith("3.")
    assert "/api/v1/programs/{program_id}/decisions" in spec["paths"]
    assert "HTTPBearer" in spec["components"]["securitySchemes"]
    assert api.client.get("/api/docs").status_code == 200


def test_the_api_spells_every_decision_of_the_domain() -> None:
    assert {d.replace("_", "-") for d in DecisionName.__args__} == set(DECISIONS)


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer", "Basic abc", "Bearer not-a-token", "Bearer jf_" + "x" * 43],
)
def test_a_missing_malformed_or_unknown_token_is_401_with_a_bearer_challenge(
    api: Api, authorization: str | None
) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    response = api.client.get("/api/v1/programs", headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"] == "urn:jointflow:problem:unauthorized"


def test_an_expired_token_is_401(api: Api) -> None:
    issued = api.bus.handle(c.IssueToken(actor=None, email=s.COORDINATOR, days=1))
    bearer = {"Authorization": f"Bearer {issued.token}"}
    assert api.client.get("/api/v1/programs", headers=bearer).status_code == 200
    api.clock.advance(days=1, seconds=1)
    assert api.client.get("/api/v1/programs", headers=bearer).status_code == 401


def test_revoking_ends_every_token_of_the_user_and_only_theirs(api: Api) -> None:
    assert api.bus.handle(c.RevokeTokens(actor=None, email=s.COORDINATOR)) == 1
    assert api.get("/programs", s.COORDINATOR).status_code == 401
    assert api.get("/programs", s.CITY_APPROVER).status_code == 200


def test_only_the_tokens_hash_is_stored(api: Api) -> None:
    token = api.tokens[s.COORDINATOR]
    stored = api.bus.query(
        lambda uow: uow.conn.execute(
            select(api_tokens.c.token_hash).where(api_tokens.c.user_email == s.COORDINATOR)
        ).scalar_one()
    )
    assert stored == token_hash(token) and token not in stored


def test_a_token_for_no_user_is_refused_and_lives_at_most_a_year(api: Api) -> None:
    with pytest.raises(Exception, match="no user"):
        api.bus.handle(c.IssueToken(actor=None, email="nobody@x.kr"))
    with pytest.raises(Exception, match="1 to 366 days"):
        api.bus.handle(c.IssueToken(actor=None, email=s.COORDINATOR, days=367))
    assert api.bus.handle(c.IssueToken(actor=None, email=s.COORDINATOR)).expires_at == (
        api.clock.now + timedelta(days=90)
    )


def test_a_path_that_is_no_route_is_a_404_problem(api: Api) -> None:
    response = api.get("/nowhere", s.COORDINATOR)
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


def test_every_request_leaves_one_json_access_line_without_the_token(api: Api) -> None:
    seen: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = seen.append  # type: ignore[method-assign]
    logger = logging.getLogger("jointflow.access")
    logger.addHandler(handler)
    try:
        api.get("/programs", s.COORDINATOR)
    finally:
        logger.removeHandler(handler)
    lines = [json.loads(r.getMessage()) for r in seen]
    assert len(lines) == 1
    line = lines[0]
    assert line["method"] == "GET" and line["path"] == "/api/v1/programs"
    assert line["status"] == 200 and line["user"] == s.COORDINATOR
    assert isinstance(line["duration_ms"], float)
    assert api.tokens[s.COORDINATOR] not in seen[0].getMessage()


def test_the_token_command_prints_a_token_once_as_json(
    database_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from config.settings import get_settings
    from workflow.entrypoints.cli import main

    monkeypatch.setenv("JOINTFLOW_DATABASE_URL", database_url)
    get_settings.cache_clear()
    try:
        main(["org", "add", "munsan-high", "--name", "Munsan"])
        main(["user", "add", s.COORDINATOR, "--name", "c", "--org", "munsan-high",
              "--role", "coordinator"])  # fmt: skip
        capsys.readouterr()
        main(["user", "token", s.COORDINATOR, "--expires-days", "7", "--json"])
        issued = json.loads(capsys.readouterr().out)
        assert set(issued) == {"token", "expires_at"} and issued["token"].startswith("jf_")
        main(["--lang", "en", "user", "revoke-tokens", s.COORDINATOR])
        assert capsys.readouterr().out.strip() == f"1 token(s) of {s.COORDINATOR} revoked"
    finally:
        get_settings.cache_clear()
    importlib.invalidate_caches()


def test_the_packages_app_stays_the_application_however_often_it_is_read() -> None:
    # uvicorn reads ``workflow.entrypoints.api:app`` more than once; a submodule named
    # ``app`` would shadow it after the first read.
    code = (
        "import workflow.entrypoints.api as api; from fastapi import FastAPI; "
        "assert isinstance(api.app, FastAPI) and api.app is api.app; print('ok')"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.stdout.strip() == "ok", done.stderr
