"""An admin's people commands from the command line, in-process on a seeded SQLite file
(issue 16): deactivate (claims back to the queue, token ended, the person refused),
activate, set-roles, set-locale and org rename, as JSON and exit codes; refusals exit 1
with one line and change nothing; the closed sets are listed in ``--help``."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests import support as s
from tests.conftest import make_settings
from tests.e2e.test_cli import Jointflow
from workflow.adapters.database import engine_for, upgrade
from workflow.bootstrap import bootstrap

NOW = "2026-03-04T10:00"


@pytest.fixture
def jf(tmp_path: Path) -> Jointflow:
    url = f"sqlite:///{tmp_path / 'jointflow.db'}"
    upgrade(engine_for(url))
    s.seed(bootstrap(make_settings(url)))
    return Jointflow({"JOINTFLOW_DATABASE_URL": url, "JOINTFLOW_NOW": NOW})


def test_deactivating_an_approver_returns_their_claim_and_refuses_them(jf: Jointflow) -> None:
    token = jf("user", "token", s.CITY_APPROVER, "--json").json["token"]
    created = jf("program", "create", "--org", "munsan-high", "--category", "linkage",
                 "--title", "Robotics", "--year", "2026", "--request", "city=80000000",
                 "--json", as_=s.COORDINATOR).json  # fmt: skip
    jf("program", "submit", str(created["id"]), as_=s.COORDINATOR)
    task = jf("inbox", "--json", as_=s.CITY_APPROVER).json[0]["task"]
    jf("task", "claim", str(task), as_=s.CITY_APPROVER)

    done = jf("user", "deactivate", s.CITY_APPROVER, "--json", as_=s.ADMIN).json

    assert done["active"] is False and done["claims_returned"] == [task]
    assert done["tokens_revoked"] == 1 and token
    refused = jf("inbox", "--json", as_=s.CITY_APPROVER, code=1)
    assert "deactivated" in refused.error_line
    listed = {u["email"]: u["active"] for u in jf("user", "list", "--json").json}
    assert listed[s.CITY_APPROVER] is False
    again = jf("user", "activate", s.CITY_APPROVER, "--json", as_=s.ADMIN).json
    assert again["active"] is True
    assert [t["claimed_by"] for t in jf("inbox", "--json", as_=s.CITY_APPROVER).json] == [None]


def test_roles_locale_and_names_change_and_bad_values_are_refused(jf: Jointflow) -> None:
    roles = jf("user", "set-roles", s.OE_APPROVER, "--roles", "approver,supervisor", "--json",
               as_=s.ADMIN).json  # fmt: skip
    assert roles["roles"] == ["approver", "supervisor"]
    assert jf("user", "set-locale", s.OE_APPROVER, "en", "--json").json["locale"] == "en"
    renamed = jf("org", "rename", "paju-youth", "--name", "파주청소년센터", "--json", as_=s.ADMIN)
    assert renamed.json == {"key": "paju-youth", "name": "파주청소년센터", "funder": False}

    before = jf("user", "list", "--json").json
    unknown = jf("user", "set-roles", s.OE_APPROVER, "--roles", "approver,boss", code=1)
    assert "boss" in unknown.error_line and "supervisor" in unknown.error_line
    jf("user", "set-locale", s.OE_APPROVER, "fr", code=2)
    not_admin = jf("org", "rename", "city", "--name", "Mine", as_=s.COORDINATOR, code=1)
    assert "admin role" in not_admin.error_line
    last = jf("user", "deactivate", s.ADMIN, as_=s.ADMIN, code=1)
    assert "last active admin" in last.error_line
    assert jf("user", "list", "--json").json == before


def test_the_closed_sets_are_listed_in_help(jf: Jointflow) -> None:
    roles = jf("user", "set-roles", "--help").out
    assert all(r in roles for r in ("approver", "budget_officer", "supervisor", "admin"))
    assert "{ko|en}" in jf("user", "set-locale", "--help").out


def test_a_program_on_a_workflow_with_a_missing_party_names_it(jf: Jointflow) -> None:
    refused = jf("program", "create", "--org", "munsan-high", "--category", "linkage",
                 "--title", "Linkage", "--year", "2026", "--request", "city=1000000",
                 "--workflow", "linkage-program", as_=s.COORDINATOR, code=1)  # fmt: skip
    assert "university" in refused.error_line
    jf("org", "add", "university", "--name", "Gyeongin University")
    jf("program", "create", "--org", "munsan-high", "--category", "linkage", "--title", "Linkage",
       "--year", "2026", "--request", "city=1000000", "--workflow", "linkage-program",
       as_=s.COORDINATOR)  # fmt: skip
